// The program as a user runs it: bin/feedmesh, its configuration errors, and SIGTERM.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, describe, it } from "node:test";
import { createGrpcJsTransport } from "../services/platform/transport.grpc.js";
import { clientsFor, newUser, tempDir } from "./harness.js";

const BIN = new URL("../bin/feedmesh", import.meta.url).pathname;

function run(env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: () => string } {
  let out = "";
  const child = spawn(BIN, args, { env: { ...process.env, FEEDMESH_LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, output: () => out };
}

async function waitFor(output: () => string, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = output().match(pattern);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${pattern}; output:\n${output()}`);
}

describe("the feedmesh program", () => {
  const data = tempDir();
  after(() => data.cleanup());

  it("starts, serves, and drains on SIGTERM", async () => {
    const { child, output } = run({ FEEDMESH_DATA_DIR: data.dir, FEEDMESH_HTTP_ADDR: "127.0.0.1:0", FEEDMESH_GRPC_ADDR: "127.0.0.1:0" });
    const [, http] = await waitFor(
      output,
      /"target":"all","http":"127\.0\.0\.1:(\d+)","grpc":"127\.0\.0\.1:\d+","msg":"feedmesh is ready"/,
    );
    const ready = output()
      .split("\n")
      .find((l) => l.includes("feedmesh is ready"))!;
    assert.equal(ready.match(/"target"/g)?.length, 1, ready); // one target, one form of each address
    const res = await fetch(`http://127.0.0.1:${http}/feedmesh.identity.v1.IdentityService/GetJwks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 200);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0, output());
    assert.match(output(), /"msg":"stopped"/);
  });

  it("runs one service per process, calling the others over gRPC", async () => {
    const shared = { FEEDMESH_DATA_DIR: data.dir, FEEDMESH_SECRET: "a-shared-secret-of-at-least-32-chars!" };
    const id = run({ ...shared, FEEDMESH_HTTP_ADDR: "127.0.0.1:0", FEEDMESH_GRPC_ADDR: "127.0.0.1:0" }, ["--target=identity"]);
    const [, , idGrpc] = await waitFor(
      id.output,
      /"target":"identity","http":"127\.0\.0\.1:(\d+)","grpc":"127\.0\.0\.1:(\d+)","msg":"feedmesh is ready"/,
    );
    const post = run(
      { ...shared, FEEDMESH_HTTP_ADDR: "127.0.0.1:0", FEEDMESH_GRPC_ADDR: "127.0.0.1:0", FEEDMESH_IDENTITY_ADDR: `127.0.0.1:${idGrpc}` },
      ["--target=post"],
    );
    const [, postHttp] = await waitFor(
      post.output,
      /"target":"post","http":"127\.0\.0\.1:(\d+)","grpc":"127\.0\.0\.1:\d+","msg":"feedmesh is ready"/,
    );
    try {
      const c = clientsFor(createGrpcJsTransport(`127.0.0.1:${idGrpc}`));
      const u = await newUser(c, "micro");
      // The post process verifies the token against the identity process's JWKS.
      const res = await fetch(`http://127.0.0.1:${postHttp}/feedmesh.post.v1.PostService/CreatePost`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${u.token}` },
        body: JSON.stringify({ caption: "from another process" }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { post: { authorId: string } }).post.authorId, u.id);
      // The identity target does not serve posts.
      const elsewhere = await fetch(`http://127.0.0.1:${postHttp}/feedmesh.identity.v1.IdentityService/GetJwks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(elsewhere.status, 404);
    } finally {
      id.child.kill("SIGTERM");
      post.child.kill("SIGTERM");
      await Promise.all([once(id.child, "exit"), once(post.child, "exit")]);
    }
  });

  it("refuses a bad configuration, naming the variable", async () => {
    const { child, output } = run({ FEEDMESH_HTTP_ADDR: "nowhere", FEEDMESH_STORE: "memory" });
    const [code] = await once(child, "exit");
    assert.equal(code, 2);
    assert.match(output(), /FEEDMESH_HTTP_ADDR="nowhere": must be host:port/);
    const unknown = run({}, ["--target=everything"]);
    assert.equal((await once(unknown.child, "exit"))[0], 2);
    assert.match(unknown.output(), /FEEDMESH_TARGET/);
  });

  it("says clearly when its port is taken", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { child, output } = run({
        FEEDMESH_STORE: "memory",
        FEEDMESH_HTTP_ADDR: `127.0.0.1:${port}`,
        FEEDMESH_GRPC_ADDR: "127.0.0.1:0",
      });
      const [code] = await once(child, "exit");
      assert.equal(code, 1);
      assert.match(output(), new RegExp(`FEEDMESH_HTTP_ADDR=127.0.0.1:${port}: the port is taken`));
    } finally {
      blocker.close();
    }
  });
});
