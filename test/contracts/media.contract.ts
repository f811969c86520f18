// The MediaStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { objectKey } from "../../services/media/media.js";
import { type MediaRecord, type MediaStore, PENDING_UPLOAD, READY } from "../../services/media/store.js";
import { encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";

export function mediaStoreContract(name: string, open: () => Promise<MediaStore>): void {
  describe(`MediaStore contract: ${name}`, () => {
    const gen = new IdGenerator(13);
    const pending = (ownerId: string, multipart = false): MediaRecord => {
      const mediaId = gen.next();
      return {
        mediaId,
        ownerId,
        kind: multipart ? 2 : 1,
        contentType: multipart ? "video/mp4" : "image/jpeg",
        sizeBytes: multipart ? 4 * 1024 * 1024 * 1024 : 123_456,
        sha256: multipart ? "" : "ab".repeat(32),
        state: PENDING_UPLOAD,
        objectKey: objectKey(ownerId, mediaId),
        uploadId: multipart ? "2~someUploadId" : "",
        partBytes: multipart ? 16 * 1024 * 1024 : 0,
        variants: [],
        createTime: Date.now() - 5_000,
        completeTime: 0,
      };
    };
    const uploaded = (m: MediaRecord) =>
      encodeEvent("media", m.mediaId, { event: { case: "uploaded", value: { mediaId: m.mediaId, ownerId: m.ownerId } } });

    it("creates and reads pending media, every field kept (sizes up to 4 GiB)", async () => {
      const store = await open();
      const owner = gen.next();
      const photo = pending(owner);
      const video = pending(owner, true);
      await store.create(photo);
      await store.create(video);
      assert.deepEqual(await store.get(photo.mediaId), photo);
      assert.deepEqual(await store.get(video.mediaId), video);
      assert.equal(await store.get(gen.next()), undefined);
    });

    it("reads many by id, leaving out unknown ids", async () => {
      const store = await open();
      const owner = gen.next();
      const a = pending(owner);
      const b = pending(owner);
      await store.create(a);
      await store.create(b);
      const got = await store.getMany([b.mediaId, gen.next(), a.mediaId]);
      assert.deepEqual(got.map((m) => m.mediaId).sort(), [a.mediaId, b.mediaId].sort());
      assert.deepEqual(await store.getMany([]), []);
    });

    it("marks pending media ready once, with its variants and completion time", async () => {
      const store = await open();
      const m = pending(gen.next());
      await store.create(m);
      const variants = [{ name: "original", objectKey: m.objectKey, contentType: m.contentType, width: 0, height: 0 }];
      const at = Date.now();
      assert.equal(await store.markReady(m.mediaId, variants, at, [uploaded(m)]), true);
      assert.deepEqual(await store.get(m.mediaId), { ...m, state: READY, variants, completeTime: at });
      // A second completion changes nothing.
      assert.equal(await store.markReady(m.mediaId, [], at + 1000, [uploaded(m)]), false);
      assert.deepEqual((await store.get(m.mediaId))?.variants, variants);
      assert.equal((await store.get(m.mediaId))?.completeTime, at);
      // Unknown media is not created by a completion.
      const ghost = gen.next();
      assert.equal(await store.markReady(ghost, variants, at, [uploaded(m)]), false);
      assert.equal(await store.get(ghost), undefined);
    });
  });
}
