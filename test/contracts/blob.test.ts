// The BlobStore contract on the embedded adapter (files in a temp directory, served by a plain
// node:http server on a free port), the embedded HTTP handler's own edges, and the S3 adapter's
// behaviour when its store is down (no server needed for either).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EmbeddedBlobStore } from "../../services/media/blob.embedded.js";
import { BlobRequestError } from "../../services/media/blob.js";
import { S3BlobStore } from "../../services/media/blob.s3.js";
import { DependencyUnavailableError } from "../../services/platform/errors.js";
import { blobStoreContract } from "./blob.contract.js";

/** An embedded store in a new temp directory, served on 127.0.0.1 at a free port under /blobs. */
async function openEmbedded(): Promise<{ store: EmbeddedBlobStore; dir: string; base: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "feedmesh-blob-"));
  let store: EmbeddedBlobStore | undefined;
  const server = http.createServer(async (req, res) => {
    if (!(await store!.handle(req, res))) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not a blob path");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  store = new EmbeddedBlobStore(dir, randomBytes(32), `${base}/blobs`);
  return {
    store,
    dir,
    base,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

blobStoreContract("embedded (files + HMAC-signed URLs)", openEmbedded);

/** A raw HTTP/1.1 request (fetch normalizes paths and sets content-length itself). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("EmbeddedBlobStore HTTP handler", () => {
  let env: Awaited<ReturnType<typeof openEmbedded>>;
  before(async () => {
    env = await openEmbedded();
  });
  after(async () => {
    await env.close();
  });

  it("leaves paths outside /blobs to the caller", async () => {
    for (const path of ["/", "/blobsx/a", "/blob/a", "/other/blobs/a"]) {
      const res = await fetch(`${env.base}${path}`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), "not a blob path", path);
    }
  });

  it("answers 403 with an S3-like XML error, and refuses traversal and odd keys", async () => {
    const signed = await env.store.presignPut("a/b.txt", { contentType: "text/plain", sizeBytes: 2, expiresSeconds: 60 });
    const res = await fetch(signed.url.replace("sig=", "sig=x"), { method: "PUT", body: "hi", headers: signed.headers });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("content-type"), "application/xml");
    assert.match(await res.text(), /<Error><Code>SignatureDoesNotMatch<\/Code><Message>[^<]+<\/Message><\/Error>/);

    const query = new URL(signed.url).search;
    const put = (path: string) =>
      raw(env.base, "PUT", `${path}${query}`, { "content-type": "text/plain", "content-length": "2" }, Buffer.from("hi"));
    for (const path of [
      "/blobs/%2Fetc",
      "/blobs/a/",
      "/blobs/a%00b",
      "/blobs/%E0%A4%A",
      "/blobs/",
      "/blobs/a%20b",
      "/blobs/a//b",
      "/blobs/a%5Cb",
    ]) {
      const r = await put(path);
      assert.equal(r.status, 400, path);
      assert.match(r.body, /<Code>InvalidKey<\/Code>/);
    }
    // The URL parser resolves "..", raw or percent-encoded, before routing: such a path lands
    // outside /blobs (left to the caller) or on another key (whose signature does not match).
    for (const [path, status] of [
      ["/blobs/../../etc/passwd", 404],
      ["/blobs/a/%2e%2e/%2e%2e/etc/passwd", 404],
      ["/blobs/a/.%2e/other.txt", 403],
    ] as const) {
      assert.equal((await put(path)).status, status, path);
    }
    for (const entry of await readdir(env.dir)) assert.ok(["objects", "tmp", "uploads"].includes(entry), entry);
    assert.equal(await env.store.head("a/other.txt"), null);
  });

  it("needs a content-length no larger than the signed size, and a body of exactly that length", async () => {
    const signed = await env.store.presignPut("sized/object.bin", {
      contentType: "application/octet-stream",
      sizeBytes: 10,
      expiresSeconds: 60,
    });
    const path = signed.url.slice(env.base.length);
    const chunked = await raw(env.base, "PUT", path, { ...signed.headers, "transfer-encoding": "chunked" }, Buffer.alloc(10));
    assert.equal(chunked.status, 411);
    const tooLarge = await raw(env.base, "PUT", path, { ...signed.headers, "content-length": "11" }, Buffer.alloc(11));
    assert.equal(tooLarge.status, 400);
    assert.match(tooLarge.body, /EntityTooLarge/);
    assert.equal(await env.store.head("sized/object.bin"), null);
    // Fewer bytes than signed is allowed (the size is an upper bound here).
    const smaller = await raw(env.base, "PUT", path, { ...signed.headers, "content-length": "4" }, Buffer.from("four"));
    assert.equal(smaller.status, 200);
    assert.deepEqual(await env.store.head("sized/object.bin"), { sizeBytes: 4, contentType: "application/octet-stream" });
    // A body cut short (the client goes away) stores nothing.
    const socket = net.connect(Number(new URL(env.base).port), "127.0.0.1");
    socket.on("error", () => {});
    socket.resume(); // read (and drop) the answer, so the socket can close
    socket.end(`PUT ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 10\r\n\r\nabcd`);
    await new Promise((resolve) => socket.on("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await env.store.head("sized/object.bin"), { sizeBytes: 4, contentType: "application/octet-stream" }, "unchanged");
    assert.deepEqual(await readdir(join(env.dir, "tmp")), [], "no temp file left behind");
  });

  it("keeps an object and one below its key apart ('a' and 'a/b')", async () => {
    for (const [key, text] of [
      ["nest", "outer"],
      ["nest/inner", "inner"],
    ] as const) {
      const s = await env.store.presignPut(key, { contentType: "text/plain", sizeBytes: text.length, expiresSeconds: 60 });
      assert.equal((await fetch(s.url, { method: "PUT", body: text, headers: s.headers })).status, 200);
    }
    assert.equal(await (await fetch(await env.store.presignGet("nest", 60))).text(), "outer");
    assert.equal(await (await fetch(await env.store.presignGet("nest/inner", 60))).text(), "inner");
  });

  it("answers a part's ETag as the MD5 of its bytes, and refuses parts of an unknown upload or with another key", async () => {
    const uploadId = await env.store.createMultipart("mp/x.bin", "application/octet-stream");
    const body = Buffer.from("part one");
    const res = await fetch(await env.store.presignPart("mp/x.bin", uploadId, 1, 60), { method: "PUT", body });
    assert.equal(res.status, 200);
    const { createHash } = await import("node:crypto");
    assert.equal(res.headers.get("etag"), `"${createHash("md5").update(body).digest("hex")}"`);
    const wrongKey = await fetch(await env.store.presignPart("mp/y.bin", uploadId, 1, 60), { method: "PUT", body });
    assert.equal(wrongKey.status, 404);
    const unknown = await fetch(await env.store.presignPart("mp/x.bin", "0".repeat(32), 1, 60), { method: "PUT", body });
    assert.equal(unknown.status, 404);
    await assert.rejects(env.store.presignPart("mp/x.bin", "../../etc", 1, 60), BlobRequestError);
    await env.store.abortMultipart("mp/x.bin", uploadId);
    const late = await fetch(await env.store.presignPart("mp/x.bin", uploadId, 2, 60), { method: "PUT", body });
    assert.equal(late.status, 404);
    assert.deepEqual(await readdir(join(env.dir, "uploads")), []);
  });

  it("serves one byte range of a GET (206), and 416 past the end", async () => {
    const body = randomBytes(1000);
    const s = await env.store.presignPut("ranged/v.mp4", { contentType: "video/mp4", sizeBytes: body.length, expiresSeconds: 60 });
    assert.equal((await fetch(s.url, { method: "PUT", body, headers: s.headers })).status, 200);
    const url = await env.store.presignGet("ranged/v.mp4", 60);
    for (const [range, start, end] of [
      ["bytes=0-99", 0, 99],
      ["bytes=900-", 900, 999],
      ["bytes=-10", 990, 999],
      ["bytes=990-5000", 990, 999],
    ] as const) {
      const res = await fetch(url, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/1000`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(body.subarray(start, end + 1)), range);
    }
    const past = await fetch(url, { headers: { range: "bytes=1000-" } });
    assert.equal(past.status, 416);
    await past.arrayBuffer();
    const whole = await fetch(url, { headers: { range: "bytes=0-1,5-6" } });
    assert.equal(whole.status, 200, "several ranges: the whole object");
    assert.equal((await whole.arrayBuffer()).byteLength, 1000);
  });

  it("serves HTTP/2 requests too", async () => {
    let store: EmbeddedBlobStore | undefined;
    const server = http2.createServer((req, res) => {
      void store!.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    store = new EmbeddedBlobStore(env.dir, randomBytes(32), `${origin}/blobs`);
    const session = http2.connect(origin);
    const call = (path: string, method: string, headers: Record<string, string>, body?: Buffer) =>
      new Promise<{ status: number; etag: string | undefined; body: Buffer }>((resolve, reject) => {
        const stream = session.request({ ":method": method, ":path": path, ...headers });
        const chunks: Buffer[] = [];
        let status = 0;
        let etag: string | undefined;
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          etag = h.etag as string | undefined;
        });
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => resolve({ status, etag, body: Buffer.concat(chunks) }));
        stream.on("error", reject);
        stream.end(body);
      });
    const body = randomBytes(3000);
    const s = await store.presignPut("h2/o.bin", { contentType: "application/octet-stream", sizeBytes: body.length, expiresSeconds: 60 });
    const put = await call(s.url.slice(origin.length), "PUT", { ...s.headers, "content-length": String(body.length) }, body);
    assert.equal(put.status, 200);
    assert.match(put.etag ?? "", /^"[0-9a-f]{32}"$/);
    const got = await call((await store.presignGet("h2/o.bin", 60)).slice(origin.length), "GET", {});
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(body));
    const bad = await call((await env.store.presignGet("h2/o.bin", 60)).slice(origin.length), "GET", {});
    assert.equal(bad.status, 403, "another secret key");
    session.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("refuses methods other than GET and PUT", async () => {
    const res = await fetch(await env.store.presignGet("a/b.txt", 60), { method: "DELETE" });
    assert.equal(res.status, 405);
  });
});

describe("S3BlobStore with its store down", () => {
  it("fails fast with DependencyUnavailableError when the connection is refused", async () => {
    const port = await freePort();
    const store = new S3BlobStore({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      bucket: "b",
      accessKeyId: "k",
      secretAccessKey: "s",
    });
    const t0 = Date.now();
    await assert.rejects(store.head("a/b"), DependencyUnavailableError);
    await assert.rejects(store.createMultipart("a/b", "video/mp4"), DependencyUnavailableError);
    await assert.rejects(store.delete("a/b"), DependencyUnavailableError);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    // Pre-signing needs no request.
    assert.match((await store.presignPut("a/b", { contentType: "image/png", sizeBytes: 1, expiresSeconds: 60 })).url, /X-Amz-Signature=/);
    store.close();
  });

  it("fails within a few seconds with DependencyUnavailableError when the store accepts but never answers", async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const store = new S3BlobStore({
      endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      region: "us-east-1",
      bucket: "b",
      accessKeyId: "k",
      secretAccessKey: "s",
      requestTimeoutMs: 500,
    });
    const t0 = Date.now();
    await assert.rejects(store.head("a/b"), DependencyUnavailableError);
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
    store.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("maps a 5xx answer to DependencyUnavailableError", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(503, { "content-type": "application/xml" });
      res.end("<Error><Code>SlowDown</Code><Message>busy</Message></Error>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const store = new S3BlobStore({
      endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      region: "us-east-1",
      bucket: "b",
      accessKeyId: "k",
      secretAccessKey: "s",
      maxAttempts: 1,
    });
    await assert.rejects(store.head("a/b"), DependencyUnavailableError);
    await assert.rejects(store.delete("a/b"), DependencyUnavailableError);
    store.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
