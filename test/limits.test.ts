// Request size limits on both ports: a message over 4 MiB is RESOURCE_EXHAUSTED, on the Connect
// port as on the gRPC port, and the server keeps serving.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/ts/google/rpc/error_details_pb.js";
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

describe("an error about many fields", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("carries the first 20 violations and a count, on both ports (found by the fuzzer: 10,000 broke HTTP/2)", async () => {
    const u = await newUser(s.grpc);
    const { mediaId } = await s.grpc.media.createUpload({ contentType: "image/jpeg", sizeBytes: 1000n }, u.opts);
    for (const c of [s.grpc, s.connect]) {
      const err = await c.media.completeUpload({ mediaId, parts: Array.from({ length: 10_000 }, () => ({})) }, u.opts).then(
        () => assert.fail("accepted"),
        (e) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /and 19980 more$/);
      assert.equal(err.findDetails(BadRequestSchema)[0]?.fieldViolations.length, 20);
    }
  });
});
