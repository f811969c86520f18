// Media end to end on the embedded backends: the embedded blob store, served on the HTTP port;
// and the media service with its S3 store down.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { PART_BYTES } from "../services/media/media.js";
import { newUser, startSystem, type TestSystem } from "./harness.js";
import { mediaSuite } from "./media.suite.js";

mediaSuite("embedded store, blobs on the HTTP port", {});

describe("media with its S3 store down", () => {
  let s: TestSystem;
  before(async () => {
    // A port that nothing listens on: every connection is refused.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    s = await startSystem({
      FEEDMESH_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      FEEDMESH_S3_ACCESS_KEY_ID: "feedmesh",
      FEEDMESH_S3_SECRET_ACCESS_KEY: "feedmesh-secret-key",
    });
  });
  after(() => s?.stop());

  it("answers UNAVAILABLE, within seconds, to every call that must reach the store", async () => {
    const alice = await newUser(s.grpc, "alice");
    // Signing a URL sends nothing: a photo upload can still be reserved.
    const up = await s.grpc.media.createUpload({ contentType: "image/jpeg", sizeBytes: 100n }, alice.opts);
    const unavailable = async (call: Promise<unknown>) => {
      const started = Date.now();
      await assert.rejects(call, (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable);
      assert.ok(Date.now() - started < 8_000, "fails fast");
    };
    await unavailable(s.grpc.media.completeUpload({ mediaId: up.mediaId }, alice.opts));
    await unavailable(s.grpc.media.createUpload({ contentType: "video/mp4", sizeBytes: BigInt(PART_BYTES) + 1n }, alice.opts));
  });
});
