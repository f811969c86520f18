// Media end to end: reserve an upload, PUT the bytes straight to the pre-signed URL with fetch,
// complete it, post it, read it back; and everything a client must not be able to do with
// upload URLs and other users' media. The same suite runs on the embedded backends with the
// embedded blob store served on the HTTP port (media.test.ts) and on Cassandra, Kafka and S3
// (media.real.test.ts).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MediaEvent } from "../gen/ts/feedmesh/events/v1/events_pb.js";
import { MediaState } from "../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { MediaKind } from "../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { BadRequestSchema } from "../gen/ts/google/rpc/error_details_pb.js";
import { PART_BYTES } from "../services/media/media.js";
import { EmbeddedBus } from "../services/platform/bus.embedded.js";
import { KafkaBus } from "../services/platform/bus.kafka.js";
import type { EventBus } from "../services/platform/events.js";
import { createKafka } from "../services/platform/kafka.js";
import { createLogger } from "../services/platform/log.js";
import { eventually, newUser, startSystem, type TestSystem } from "./harness.js";

type User = Awaited<ReturnType<typeof newUser>>;

export interface MediaSuiteOptions {
  /** Deletes what the suite stored in a shared object store. */
  cleanup?: (keys: string[]) => Promise<void>;
}

/** Rejects with this code (and, for INVALID_ARGUMENT, a violation of this field). */
async function rejects(call: Promise<unknown>, code: Code, field?: string): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ConnectError, `a ConnectError, got ${String(err)}`);
    assert.equal(err.code, code, `${Code[code]} expected, got ${Code[err.code]}: ${err.message}`);
    if (field)
      assert.ok(
        err.findDetails(BadRequestSchema)[0]?.fieldViolations.some((v) => v.field === field),
        `a violation of ${field}`,
      );
    return err;
  }
  assert.fail(`${Code[code]} expected, the call succeeded`);
}

async function put(url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  const res = await fetch(url, { method: "PUT", body, headers });
  await res.arrayBuffer();
  return res;
}

/** A consumer group of its own on the system's bus, collecting every media event. */
async function watchMedia(s: TestSystem): Promise<{ events: MediaEvent[]; bus: EventBus }> {
  const rt = s.app.runtime;
  const log = createLogger("silent");
  const prefix = rt.config.FEEDMESH_KAFKA_TOPIC_PREFIX;
  const bus =
    rt.store.kind === "sqlite"
      ? new EmbeddedBus(rt.store.db, log)
      : new KafkaBus(
          createKafka(
            {
              brokers: rt.config.FEEDMESH_KAFKA_BROKERS.split(","),
              clientId: "media-test",
              partitions: rt.config.FEEDMESH_KAFKA_PARTITIONS,
              prefix,
              replicationFactor: 1,
              ssl: false,
            },
            log,
          ),
          log,
          prefix,
        );
  const events: MediaEvent[] = [];
  bus.subscribe(`media-test-${process.pid}`, "media", async ({ event }) => {
    events.push(event);
  });
  await bus.start();
  return { events, bus };
}

export function mediaSuite(name: string, env: Record<string, string>, options: MediaSuiteOptions = {}): void {
  describe(`media (${name})`, () => {
    let s: TestSystem;
    let watched: Awaited<ReturnType<typeof watchMedia>>;
    const keys: string[] = [];
    /** Reserves an upload and remembers its object key for the cleanup. */
    const reserve = async (u: User, contentType: string, body: Uint8Array, extra: { sha256?: string; sizeBytes?: bigint } = {}) => {
      const res = await s.grpc.media.createUpload({ contentType, sizeBytes: BigInt(body.length), ...extra }, u.opts);
      keys.push(`media/${u.id}/${res.mediaId}/original`);
      return res;
    };

    before(async () => {
      s = await startSystem(env);
      watched = await watchMedia(s);
    });
    after(async () => {
      await watched?.bus.stop();
      await s?.stop();
      await options.cleanup?.(keys);
    });

    it("a photo: reserved, PUT to its URL, completed once, posted, seen with a working download URL, published", async () => {
      const c = s.grpc;
      const alice = await newUser(c, "alice");
      const bob = await newUser(c, "bob");
      const body = randomBytes(150_000);
      const started = Date.now();
      const up = await reserve(alice, "image/png", body);
      assert.match(up.mediaId, /^\d+$/);
      assert.equal(up.parts.length, 0);
      assert.equal(up.uploadHeaders["content-type"], "image/png");
      assert.ok(new URL(up.uploadUrl).pathname.endsWith(`/media/${alice.id}/${up.mediaId}/original`), "under the owner's prefix");
      const expires = Number(up.expireTime!.seconds) * 1000;
      assert.ok(expires > started + 14 * 60_000 && expires <= started + 15 * 60_000 + 1000, "15 minutes by default");

      // Not usable before it is uploaded and completed.
      await rejects(c.media.completeUpload({ mediaId: up.mediaId }, alice.opts), Code.FailedPrecondition);
      await rejects(c.post.createPost({ caption: "too soon", mediaIds: [up.mediaId] }, alice.opts), Code.InvalidArgument, "media_ids[0]");
      const pending = await c.media.getMedia({ mediaId: up.mediaId }, alice.opts);
      assert.equal(pending.media?.state, MediaState.PENDING_UPLOAD);
      assert.equal(pending.media?.variants.length, 0);
      await rejects(c.media.getMedia({ mediaId: up.mediaId }, bob.opts), Code.NotFound);

      assert.equal((await put(up.uploadUrl, body, up.uploadHeaders)).status, 200);
      const done = (await c.media.completeUpload({ mediaId: up.mediaId }, alice.opts)).media!;
      assert.equal(done.state, MediaState.READY);
      assert.equal(done.ownerId, alice.id);
      assert.equal(done.kind, MediaKind.PHOTO);
      assert.equal(done.sizeBytes, BigInt(body.length));
      assert.deepEqual(
        done.variants.map((v) => [v.name, v.contentType]),
        [["original", "image/png"]],
      );
      const again = (await c.media.completeUpload({ mediaId: up.mediaId }, alice.opts)).media!;
      assert.equal(again.state, MediaState.READY, "completing twice is no error");

      const post = (await c.post.createPost({ caption: "harbour at dawn", mediaIds: [up.mediaId] }, alice.opts)).post!;
      const ref = [{ mediaId: up.mediaId, kind: MediaKind.PHOTO, contentType: "image/png" }];
      const refs = (p: typeof post) => p.media.map((m) => ({ mediaId: m.mediaId, kind: m.kind, contentType: m.contentType }));
      assert.deepEqual(refs(post), ref);
      const seen = (await c.post.getPost({ postId: post.postId }, bob.opts)).post!;
      assert.deepEqual(refs(seen), ref);

      // A reader of the post gets a download URL for its media.
      const [forBob] = (await c.media.batchGetMedia({ mediaIds: [seen.media[0]!.mediaId, "999"] }, bob.opts)).media;
      assert.equal(forBob?.mediaId, up.mediaId);
      const got = await fetch(forBob!.variants[0]!.url);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("content-type"), "image/png");
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(body), "the same bytes");

      await eventually(async () => {
        const mine = watched.events.filter((e) => e.event.value?.mediaId === up.mediaId);
        assert.deepEqual(
          mine.map((e) => e.event.case),
          ["uploaded", "processed"],
          "published once",
        );
        const uploaded = mine[0]!.event.value as { ownerId: string; objectKey: string; sizeBytes: bigint; contentType: string };
        assert.deepEqual(
          [uploaded.ownerId, uploaded.objectKey, uploaded.sizeBytes, uploaded.contentType],
          [alice.id, `media/${alice.id}/${up.mediaId}/original`, BigInt(body.length), "image/png"],
        );
      }, 30_000);
    });

    it("an upload URL covers one key, its content type and size; someone else's media can't be completed, posted or seen privately", async () => {
      const c = s.grpc;
      const alice = await newUser(c, "alice");
      const bob = await newUser(c, "bob");
      const body = randomBytes(2048);
      const up = await reserve(alice, "image/jpeg", body);
      const path = `/media/${alice.id}/${up.mediaId}/original`;
      const elsewhere = [`/media/${bob.id}/${up.mediaId}/original`, `/media/${alice.id}/${up.mediaId}1/original`];
      for (const other of elsewhere) {
        assert.equal((await put(up.uploadUrl.replace(path, other), body, up.uploadHeaders)).status, 403, `PUT to ${other}`);
      }
      assert.equal((await put(up.uploadUrl, body, { "content-type": "image/png" })).status, 403, "another content type");
      const more = (await put(up.uploadUrl, Buffer.concat([body, Buffer.from("x")]), up.uploadHeaders)).status;
      assert.ok(more === 400 || more === 403, `a byte more than reserved: HTTP ${more}`);
      await rejects(c.media.completeUpload({ mediaId: up.mediaId }, alice.opts), Code.FailedPrecondition);

      assert.equal((await put(up.uploadUrl, body, up.uploadHeaders)).status, 200);
      // Someone else's upload: NOT_FOUND while it is pending (not theirs to see), then PERMISSION_DENIED.
      await rejects(c.media.completeUpload({ mediaId: up.mediaId }, bob.opts), Code.NotFound);
      await c.media.completeUpload({ mediaId: up.mediaId }, alice.opts);
      await rejects(c.media.completeUpload({ mediaId: up.mediaId }, bob.opts), Code.PermissionDenied);
      await rejects(c.post.createPost({ caption: "not mine", mediaIds: [up.mediaId] }, bob.opts), Code.InvalidArgument, "media_ids[0]");

      // Ready media of a public account is visible; of a private one, only to approved followers.
      assert.equal((await c.media.getMedia({ mediaId: up.mediaId }, bob.opts)).media?.mediaId, up.mediaId);
      await c.graph.updatePrivacySettings({ settings: { private: true } }, alice.opts);
      await rejects(c.media.getMedia({ mediaId: up.mediaId }, bob.opts), Code.NotFound);
      assert.deepEqual((await c.media.batchGetMedia({ mediaIds: [up.mediaId] }, bob.opts)).media, []);
      await c.graph.follow({ userId: alice.id }, bob.opts);
      await c.graph.approveFollowRequest({ userId: bob.id }, alice.opts);
      assert.equal((await c.media.getMedia({ mediaId: up.mediaId }, bob.opts)).media?.mediaId, up.mediaId);
    });

    it("verifies the object on completion: fewer bytes than declared, and a SHA-256 that does not match, never become ready", async () => {
      const c = s.grpc;
      const alice = await newUser(c, "alice");
      const body = randomBytes(4096);
      const short = await reserve(alice, "image/webp", Buffer.alloc(body.length + 10));
      const status = (await put(short.uploadUrl, body, short.uploadHeaders)).status;
      assert.ok(status === 200 || status === 403, `HTTP ${status}`); // S3 signs the exact length; the embedded store a maximum
      const err = await rejects(c.media.completeUpload({ mediaId: short.mediaId }, alice.opts), Code.FailedPrecondition);
      if (status === 200) assert.match(err.message, /4096 bytes/);
      assert.equal((await c.media.getMedia({ mediaId: short.mediaId }, alice.opts)).media?.state, MediaState.PENDING_UPLOAD);

      const sha256 = createHash("sha256").update(body).digest("hex");
      const checked = await reserve(alice, "image/jpeg", body, { sha256 });
      assert.ok(checked.uploadHeaders["x-amz-checksum-sha256"], "the checksum header is part of the upload");
      const tampered = Buffer.from(body);
      tampered[7] = (tampered[7]! + 1) % 256;
      assert.equal((await put(checked.uploadUrl, tampered, checked.uploadHeaders)).status, 400);
      await rejects(c.media.completeUpload({ mediaId: checked.mediaId }, alice.opts), Code.FailedPrecondition);
      assert.equal((await put(checked.uploadUrl, body, checked.uploadHeaders)).status, 200);
      assert.equal((await c.media.completeUpload({ mediaId: checked.mediaId }, alice.opts)).media?.state, MediaState.READY);
    });

    it("refuses bad uploads with INVALID_ARGUMENT on the field", async () => {
      const c = s.grpc;
      const alice = await newUser(c, "alice");
      const create = (contentType: string, sizeBytes: bigint, sha256 = "") =>
        c.media.createUpload({ contentType, sizeBytes, sha256 }, alice.opts);
      await rejects(create("image/gif", 10n), Code.InvalidArgument, "content_type");
      await rejects(create("text/html", 10n), Code.InvalidArgument, "content_type");
      await rejects(create("image/jpeg", 0n), Code.InvalidArgument, "size_bytes");
      await rejects(create("image/jpeg", 8n * 1024n * 1024n + 1n), Code.InvalidArgument, "size_bytes");
      await rejects(create("video/mp4", 4n * 1024n ** 3n + 1n), Code.InvalidArgument, "size_bytes");
      await rejects(create("image/png", 10n, "ABC"), Code.InvalidArgument, "sha256");
      await rejects(create("video/mp4", BigInt(PART_BYTES) + 1n, "a".repeat(64)), Code.InvalidArgument, "sha256");
      await rejects(c.media.completeUpload({ mediaId: "not-an-id" }, alice.opts), Code.InvalidArgument, "media_id");
      await rejects(c.media.completeUpload({ mediaId: "12345" }, alice.opts), Code.NotFound);
      await rejects(c.media.getMedia({ mediaId: "12345" }, alice.opts), Code.NotFound);
      await rejects(c.media.createUpload({ contentType: "image/png", sizeBytes: 10n }, {}), Code.Unauthenticated);
      // The largest photo and video are accepted (and cleaned up after the suite).
      const photo = await create("image/heic", 8n * 1024n * 1024n);
      const video = await create("video/quicktime", 4n * 1024n ** 3n);
      keys.push(...[photo, video].map((r) => `media/${alice.id}/${r.mediaId}/original`));
      assert.ok(photo.uploadUrl);
      assert.equal(video.parts.length, 256);
    });

    it(`a video over ${PART_BYTES} bytes goes up in parts and completes from their ETags`, async () => {
      const c = s.grpc;
      const alice = await newUser(c, "alice");
      const body = randomBytes(PART_BYTES + 1000);
      const up = await reserve(alice, "video/mp4", body);
      assert.equal(up.uploadUrl, "");
      assert.deepEqual(
        up.parts.map((p) => [p.partNumber, p.sizeBytes]),
        [
          [1, BigInt(PART_BYTES)],
          [2, 1000n],
        ],
      );
      // Part 2 first: parts go up in any order.
      const etags: string[] = [];
      for (const i of [1, 0]) {
        const part = up.parts[i]!;
        const from = (part.partNumber - 1) * PART_BYTES;
        const res = await put(part.url, body.subarray(from, from + Number(part.sizeBytes)), {});
        assert.equal(res.status, 200, `part ${part.partNumber}`);
        etags[i] = res.headers.get("etag") ?? "";
      }
      await rejects(c.media.completeUpload({ mediaId: up.mediaId, parts: [] }, alice.opts), Code.InvalidArgument, "parts");
      const receipts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
      await rejects(
        c.media.completeUpload({ mediaId: up.mediaId, parts: [receipts[0]!, { partNumber: 2, etag: `"${"0".repeat(32)}"` }] }, alice.opts),
        Code.FailedPrecondition,
      );
      const done = (await c.media.completeUpload({ mediaId: up.mediaId, parts: receipts }, alice.opts)).media!;
      assert.equal(done.state, MediaState.READY);
      assert.equal(done.kind, MediaKind.VIDEO);
      assert.equal(done.sizeBytes, BigInt(body.length));
      assert.equal((await c.media.completeUpload({ mediaId: up.mediaId, parts: receipts }, alice.opts)).media?.state, MediaState.READY);
      const tail = await fetch(done.variants[0]!.url, { headers: { range: `bytes=${body.length - 100}-` } });
      assert.equal(tail.status, 206);
      assert.ok(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(body.length - 100)), "the joined object ends with part 2");
    });

    describe("with a 1 s upload TTL", () => {
      let short: TestSystem;
      before(async () => {
        short = await startSystem({ ...env, FEEDMESH_MEDIA_UPLOAD_TTL: "1s" });
      });
      after(() => short?.stop());

      it("refuses a PUT after the URL expired, and the media stays unusable", async () => {
        const alice = await newUser(short.grpc, "alice");
        const body = randomBytes(100);
        const up = await short.grpc.media.createUpload({ contentType: "image/jpeg", sizeBytes: BigInt(body.length) }, alice.opts);
        keys.push(`media/${alice.id}/${up.mediaId}/original`);
        await sleep(2100);
        assert.equal((await put(up.uploadUrl, body, up.uploadHeaders)).status, 403);
        await rejects(short.grpc.media.completeUpload({ mediaId: up.mediaId }, alice.opts), Code.FailedPrecondition);
      });
    });
  });
}
