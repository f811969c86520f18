// Request size limits on both ports: a message over 4 MiB is RESOURCE_EXHAUSTED, on the Connect
// port as on the gRPC port, and the server keeps serving.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { newUser, startSystem, type TestSystem } from "./harness.js";

describe("request size limits", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("refuse a message over 4 MiB on both ports, and keep serving", async () => {
    const u = await newUser(s.grpc);
    const huge = "a".repeat(5 * 1024 * 1024);
    await assert.rejects(
      s.grpc.post.createPost({ caption: huge }, u.opts),
      (err) => ConnectError.from(err).code === Code.ResourceExhausted,
    );
    // Connect over HTTP/1.1: the server answers before reading the body and closes the
    // connection, which the client may see as the answer or as the reset that follows it
    await assert.rejects(s.connect.post.createPost({ caption: huge }, u.opts), (err) =>
      [Code.ResourceExhausted, Code.Aborted].includes(ConnectError.from(err).code),
    );
    // the server goes on (a new connection: it closed the one the oversized body came on)
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200);
    assert.equal((await s.grpc.identity.getCurrentUser({}, u.opts)).user?.userId, u.id);
    assert.equal((await s.grpc.post.createPost({ caption: "small" }, u.opts)).post?.caption, "small");
  });
});
