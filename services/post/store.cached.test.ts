// The hydration cache in front of the post store: hits skip the store, edits and deletions
// show at once, and a cache that cannot be reached only costs a store read.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEvent } from "../platform/events.js";
import { IdGenerator } from "../platform/ids.js";
import { createLogger } from "../platform/log.js";
import { EmbeddedDb } from "../platform/sqlite.js";
import { MemoryPostCache } from "./cache.memory.js";
import { CachedPostStore } from "./store.cached.js";
import type { PostRecord } from "./store.js";
import { SqlitePostStore } from "./store.sqlite.js";

const gen = new IdGenerator(21);
const post = (authorId: string): PostRecord => ({
  postId: gen.next(),
  authorId,
  caption: "hello",
  hashtags: [],
  mentions: [],
  media: [],
  createTime: Date.now(),
  updateTime: 0,
  deleted: false,
});
const ev = (p: PostRecord) => encodeEvent("posts", p.authorId, { event: { case: "created", value: { postId: p.postId } } });

describe("CachedPostStore", () => {
  it("serves hits from the cache and invalidates on edit and delete", async () => {
    const inner = new SqlitePostStore(new EmbeddedDb(null));
    let storeReads = 0;
    const getMany = inner.getMany.bind(inner);
    inner.getMany = async (ids) => {
      storeReads += ids.length;
      return getMany(ids);
    };
    const store = new CachedPostStore(inner, async () => new MemoryPostCache(), 60, createLogger("silent"));
    const [a, b] = [post("1"), post("1")];
    await store.create(a, "", ev(a));
    await store.create(b, "", ev(b));
    assert.deepEqual(
      (await store.getMany([a.postId, b.postId])).map((p) => p.postId),
      [a.postId, b.postId],
    );
    assert.equal(storeReads, 2);
    assert.deepEqual(
      (await store.getMany([b.postId, a.postId])).map((p) => p.postId),
      [b.postId, a.postId],
    );
    assert.equal(storeReads, 2, "the second read came from the cache");
    await store.update(a.postId, "edited", [], [], Date.now(), ev(a));
    assert.equal((await store.getMany([a.postId]))[0]?.caption, "edited");
    await store.markDeleted(b.postId, ev(b));
    assert.deepEqual(
      (await store.getMany([a.postId, b.postId])).map((p) => p.postId),
      [a.postId],
    );
    assert.equal((await store.get(b.postId))?.deleted, true);
  });

  it("reads the store when the cache cannot be reached", async () => {
    const inner = new SqlitePostStore(new EmbeddedDb(null));
    const store = new CachedPostStore(inner, async () => Promise.reject(new Error("down")), 60, createLogger("silent"));
    const p = post("2");
    await store.create(p, "", ev(p));
    assert.deepEqual(
      (await store.getMany([p.postId])).map((x) => x.postId),
      [p.postId],
    );
    await store.markDeleted(p.postId, ev(p));
    assert.deepEqual(await store.getMany([p.postId]), []);
  });
});
