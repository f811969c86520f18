// The BlobStore contract: what the media service relies on, for every adapter (the embedded
// file store, an S3-compatible store), exercised over real HTTP with the global fetch, the way a
// client uses the pre-signed URLs.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BlobRequestError, type BlobStore, MIN_PART_BYTES } from "../../services/media/blob.js";

export interface OpenedBlobStore {
  store: BlobStore;
  close(): Promise<void>;
}

/** Changes one character of the URL's signature (the query parameter named like one). */
function tamperSignature(url: string): string {
  const u = new URL(url);
  const name = [...u.searchParams.keys()].find((k) => /^(sig|signature|x-amz-signature)$/i.test(k));
  assert.ok(name, `no signature parameter in ${url}`);
  const sig = u.searchParams.get(name)!;
  const i = Math.floor(sig.length / 2);
  u.searchParams.set(name, sig.slice(0, i) + (sig[i] === "a" ? "b" : "a") + sig.slice(i + 1));
  return u.toString();
}

/** The same URL for another key (the last path segment replaced). */
function otherKey(url: string, key: string, other: string): string {
  const u = new URL(url);
  assert.ok(u.pathname.endsWith(`/${key}`), `the key is the URL's path: ${u.pathname}`);
  u.pathname = u.pathname.slice(0, -key.length) + other;
  return u.toString();
}

async function put(url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "PUT", body, headers });
}

async function status(res: Response): Promise<number> {
  await res.arrayBuffer(); // drain, so the connection is reused
  return res.status;
}

export function blobStoreContract(name: string, open: () => Promise<OpenedBlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let opened: OpenedBlobStore;
    let store: BlobStore;
    // Unique per run, so runs against a shared bucket never see each other's objects.
    const run = `contract-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
    const keys: string[] = [];
    const newKey = (ext = "bin") => {
      keys.push(`${run}/k${keys.length + 1}/object.${ext}`);
      return keys.at(-1)!;
    };

    before(async () => {
      opened = await open();
      store = opened.store;
    });
    after(async () => {
      if (!opened) return;
      for (const key of [...keys, `${run}/elsewhere.bin`]) await store.delete(key).catch(() => {});
      await opened.close();
    });

    it("a pre-signed PUT stores the object: head gives its size and type, a pre-signed GET the same bytes", async () => {
      const key = newKey("png");
      const body = randomBytes(70_001);
      const signed = await store.presignPut(key, { contentType: "image/png", sizeBytes: body.length, expiresSeconds: 60 });
      assert.equal(signed.headers["content-type"], "image/png");
      const res = await put(signed.url, body, signed.headers);
      assert.equal(await status(res), 200);
      assert.match(res.headers.get("etag") ?? "", /^"[0-9a-f]{32}"$/, "the PUT answers an MD5 ETag");

      assert.deepEqual(await store.head(key), { sizeBytes: body.length, contentType: "image/png" });
      const got = await fetch(await store.presignGet(key, 60));
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("content-type"), "image/png");
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(body));

      // A second PUT replaces the object.
      const next = Buffer.from("replaced");
      const again = await store.presignPut(key, { contentType: "text/plain", sizeBytes: next.length, expiresSeconds: 60 });
      assert.equal(await status(await put(again.url, next, again.headers)), 200);
      assert.deepEqual(await store.head(key), { sizeBytes: next.length, contentType: "text/plain" });
      assert.equal(await (await fetch(await store.presignGet(key, 60))).text(), "replaced");
    });

    it("refuses a PUT with another content type than the signed one, or more bytes than signed", async () => {
      const key = newKey("jpg");
      const body = randomBytes(1000);
      const signed = await store.presignPut(key, { contentType: "image/jpeg", sizeBytes: body.length, expiresSeconds: 60 });
      const wrongType = await status(await put(signed.url, body, { "content-type": "text/html" }));
      assert.ok(wrongType === 403 || wrongType === 400, `another content type: HTTP ${wrongType}`);
      const tooLong = await status(await put(signed.url, Buffer.concat([body, Buffer.from("x")]), signed.headers));
      assert.ok(tooLong === 403 || tooLong === 400, `one byte more than signed: HTTP ${tooLong}`);
      assert.equal(await store.head(key), null, "nothing was stored");
    });

    it("a PUT URL with a SHA-256 needs its checksum header and accepts only a body with that digest", async () => {
      const key = newKey();
      const body = randomBytes(4096);
      const sha256 = createHash("sha256").update(body).digest("hex");
      const signed = await store.presignPut(key, { contentType: "image/webp", sizeBytes: body.length, expiresSeconds: 60, sha256 });
      assert.equal(signed.headers["x-amz-checksum-sha256"], Buffer.from(sha256, "hex").toString("base64"));
      const other = Buffer.from(body);
      other[0] = (other[0]! + 1) % 256;
      assert.equal(await status(await put(signed.url, other, signed.headers)), 400, "another body of the same size: BadDigest");
      assert.equal(await status(await put(signed.url, body, { "content-type": "image/webp" })), 403, "the checksum header is signed");
      assert.equal(await store.head(key), null, "nothing was stored");
      assert.equal(await status(await put(signed.url, body, signed.headers)), 200);
      assert.deepEqual(await store.head(key), { sizeBytes: body.length, contentType: "image/webp" });
      await assert.rejects(
        store.presignPut(newKey(), { contentType: "image/webp", sizeBytes: 1, expiresSeconds: 60, sha256: "XYZ" }),
        (err: unknown) => err instanceof BlobRequestError && err.code === "InvalidArgument",
      );
    });

    it("refuses tampered URLs with 403: one character of the signature, or another key", async () => {
      const key = newKey();
      const body = randomBytes(100);
      const signed = await store.presignPut(key, { contentType: "application/octet-stream", sizeBytes: body.length, expiresSeconds: 60 });
      assert.equal(await status(await put(tamperSignature(signed.url), body, signed.headers)), 403);
      const elsewhere = `${run}/elsewhere.bin`;
      assert.equal(await status(await put(otherKey(signed.url, key, elsewhere), body, signed.headers)), 403);
      assert.equal(await store.head(elsewhere), null);
      assert.equal(await status(await put(signed.url, body, signed.headers)), 200);

      const get = await store.presignGet(key, 60);
      assert.equal(await status(await fetch(tamperSignature(get))), 403);
      const other = newKey();
      const otherPut = await store.presignPut(other, { contentType: "text/plain", sizeBytes: 2, expiresSeconds: 60 });
      assert.equal(await status(await put(otherPut.url, Buffer.from("hi"), otherPut.headers)), 200);
      assert.equal(await status(await fetch(otherKey(get, key, other))), 403, "a GET URL does not open another object");
      assert.equal(await status(await fetch(get)), 200);
    });

    it("refuses expired URLs with 403", async () => {
      const key = newKey();
      const body = randomBytes(10);
      const live = await store.presignPut(key, { contentType: "text/plain", sizeBytes: body.length, expiresSeconds: 60 });
      assert.equal(await status(await put(live.url, body, live.headers)), 200);
      const [put1, get1] = await Promise.all([
        store.presignPut(newKey(), { contentType: "text/plain", sizeBytes: body.length, expiresSeconds: 1 }),
        store.presignGet(key, 1),
      ]);
      await sleep(2100);
      assert.equal(await status(await put(put1.url, body, put1.headers)), 403);
      assert.equal(await status(await fetch(get1)), 403);
    });

    it("multipart: two parts (5 MiB + 1 KiB) through pre-signed part URLs complete into their concatenation", async () => {
      const key = newKey("mp4");
      const parts = [randomBytes(MIN_PART_BYTES), randomBytes(1024)];
      const uploadId = await store.createMultipart(key, "video/mp4");
      assert.ok(uploadId.length > 0);
      // Upload out of order, the last one first.
      const receipts: { partNumber: number; etag: string }[] = [];
      for (const i of [1, 0]) {
        const url = await store.presignPart(key, uploadId, i + 1, 60);
        const res = await put(url, parts[i]!, {});
        assert.equal(await status(res), 200, `part ${i + 1}`);
        const etag = res.headers.get("etag");
        assert.ok(etag, "a part's PUT answers its ETag");
        receipts[i] = { partNumber: i + 1, etag };
      }
      assert.equal(await store.head(key), null, "no object before completion");
      await store.completeMultipart(key, uploadId, receipts);

      assert.deepEqual(await store.head(key), { sizeBytes: MIN_PART_BYTES + 1024, contentType: "video/mp4" });
      const got = await fetch(await store.presignGet(key, 60));
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("content-type"), "video/mp4");
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat(parts)));
      await store.delete(key);
    });

    it("multipart: a part URL bound to a size refuses more bytes; a bad ETag, a short middle part and an aborted upload fail", async () => {
      const key = newKey();
      const uploadId = await store.createMultipart(key, "application/octet-stream");
      const small = randomBytes(1024);
      const bound = await store.presignPart(key, uploadId, 1, 60, small.length);
      assert.ok([400, 403].includes(await status(await put(bound, Buffer.concat([small, small]), {}))), "more bytes than the part's size");
      const tampered = tamperSignature(await store.presignPart(key, uploadId, 1, 60));
      assert.equal(await status(await put(tampered, small, {})), 403);
      const r1 = await put(bound, small, {});
      assert.equal(await status(r1), 200);
      const r2 = await put(await store.presignPart(key, uploadId, 2, 60), small, {});
      assert.equal(await status(r2), 200);
      // A part of 1 KiB that is not the last one is too small.
      await assert.rejects(
        store.completeMultipart(key, uploadId, [
          { partNumber: 1, etag: r1.headers.get("etag")! },
          { partNumber: 2, etag: r2.headers.get("etag")! },
        ]),
        (err: unknown) => err instanceof BlobRequestError && err.code === "EntityTooSmall",
      );
      await assert.rejects(
        store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: `"${"0".repeat(32)}"` }]),
        (err: unknown) => err instanceof BlobRequestError && err.code === "InvalidPart",
      );
      await store.abortMultipart(key, uploadId);
      await assert.rejects(
        store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: r1.headers.get("etag")! }]),
        (err: unknown) => err instanceof BlobRequestError && err.code === "NoSuchUpload",
      );
      await store.abortMultipart(key, uploadId); // twice is no error
      assert.equal(await store.head(key), null);
    });

    it("head of a missing key is null; delete removes the object and is idempotent", async () => {
      assert.equal(await store.head(newKey()), null);
      const key = newKey();
      const signed = await store.presignPut(key, { contentType: "text/plain", sizeBytes: 3, expiresSeconds: 60 });
      assert.equal(await status(await put(signed.url, Buffer.from("abc"), signed.headers)), 200);
      assert.ok(await store.head(key));
      await store.delete(key);
      assert.equal(await store.head(key), null);
      assert.equal(await status(await fetch(await store.presignGet(key, 60))), 404);
      await store.delete(key);
    });

    it("rejects keys that could escape their place: '..', a leading '/', characters outside [A-Za-z0-9/_.-]", async () => {
      for (const key of ["../x", "a/../../b", "/abs", "a//b", "a/", "", "sp ace", "a%2e%2e", "é", "a\\b", "."]) {
        await assert.rejects(
          store.presignPut(key, { contentType: "text/plain", sizeBytes: 1, expiresSeconds: 60 }),
          (err: unknown) => err instanceof BlobRequestError && err.code === "InvalidKey",
          key,
        );
        await assert.rejects(store.presignGet(key, 60), BlobRequestError, key);
        await assert.rejects(store.head(key), BlobRequestError, key);
        await assert.rejects(store.delete(key), BlobRequestError, key);
      }
      await assert.rejects(store.presignGet(newKey(), 0), BlobRequestError, "expiry below 1 s");
      await assert.rejects(store.presignGet(newKey(), 604_801), BlobRequestError, "expiry above 7 days");
    });
  });
}
