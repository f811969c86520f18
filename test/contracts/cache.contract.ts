// The FeedCache and PostCache contracts: what the feed's read path and the fanout rely on, for
// every adapter (in-process Maps, Redis).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FeedCache, FeedEntry } from "../../services/feed/cache.js";
import { compareIds, IdGenerator, idTime } from "../../services/platform/ids.js";
import type { PostCache } from "../../services/post/cache.js";

export interface CacheOptions {
  ttlSeconds: number;
}

const ids = (entries: FeedEntry[]) => entries.map((e) => e.postId);
const newestFirst = (entries: FeedEntry[]) => [...entries].sort((a, b) => compareIds(b.postId, a.postId));

/** Pages through a cached feed with a given page size, checking every page says complete. */
async function readAll(cache: FeedCache, reader: string, limit: number): Promise<FeedEntry[]> {
  const out: FeedEntry[] = [];
  let before: string | null = null;
  for (;;) {
    const page = await cache.page(reader, limit, before);
    assert.ok(page, "the feed is cached");
    assert.equal(page.complete, true);
    out.push(...page.entries);
    if (page.entries.length < limit) return out;
    before = page.entries.at(-1)!.postId;
  }
}

export function feedCacheContract(name: string, open: (options: CacheOptions) => Promise<FeedCache>): void {
  describe(`FeedCache contract: ${name}`, () => {
    const gen = new IdGenerator(7);
    const user = () => gen.next(Date.now() - 400 * 86_400_000); // ids of "users": unique, any time
    // A post now (monotonic ids), or at a given time (a fresh generator per id: generators never
    // go back in time, and a worker per id keeps ids of one millisecond apart).
    let worker = 0;
    const post = (author: string, ms?: number): FeedEntry => ({
      postId: ms === undefined ? gen.next() : new IdGenerator(100 + (worker++ % 900)).next(ms),
      authorId: author,
    });

    it("pages newest first in exact post-id order with an exclusive cursor, ids of one millisecond included", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const [reader, a, b] = [user(), user(), user()];
      const ms = Date.now() - 5000;
      // Several posts in each of three milliseconds, from two workers (their ids interleave by
      // worker, then sequence), plus posts of other times; filled in a scrambled order.
      const [w1, w2] = [new IdGenerator(1), new IdGenerator(1000)];
      const entries: FeedEntry[] = [];
      for (const t of [ms - 1, ms, ms + 1]) {
        for (let i = 0; i < 4; i++) entries.push({ postId: w1.next(t), authorId: a }, { postId: w2.next(t), authorId: b });
      }
      for (let i = 0; i < 5; i++) entries.push(post(i % 2 ? a : b, ms - 60_000 * (i + 1)));
      const sorted = newestFirst(entries);
      await cache.fill(
        reader,
        [...entries].reverse().sort((x, y) => (x.postId.at(-1)! < y.postId.at(-1)! ? -1 : 1)),
        100,
      );

      for (const limit of [1, 3, 7, 100]) assert.deepEqual(await readAll(cache, reader, limit), sorted, `pages of ${limit}`);
      // Every cursor, present in the feed or not (an id of the same millisecond from another
      // worker, just above or below one in the feed), gives exactly the entries below it.
      const cursors = [
        ...ids(sorted),
        new IdGenerator(2).next(ms),
        new IdGenerator(500).next(ms),
        new IdGenerator(0).next(ms + 1),
        post(a, ms - 30_000).postId,
      ];
      for (const before of cursors) {
        const page = await cache.page(reader, 5, before);
        const expected = sorted.filter((e) => compareIds(e.postId, before) < 0).slice(0, 5);
        assert.deepEqual(page, { entries: expected, complete: true }, `before ${before}`);
      }
      assert.deepEqual(await cache.page(reader, 5, sorted.at(-1)!.postId), { entries: [], complete: true });
      assert.deepEqual((await cache.page(reader, 2, null))?.entries, sorted.slice(0, 2));
    });

    it("pages and removes exactly among many posts of one millisecond", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const [reader, author] = [user(), user()];
      const ms = Date.now() - 10_000;
      const gens = [new IdGenerator(3), new IdGenerator(300), new IdGenerator(1023)];
      const entries = Array.from({ length: 60 }, (_, i) => ({ postId: gens[i % 3]!.next(ms), authorId: author }));
      entries.push(post(author, ms - 1), post(author, ms + 1));
      assert.equal(new Set(entries.map((e) => idTime(e.postId))).size, 3);
      let sorted = newestFirst(entries);
      await cache.fill(reader, entries, 100);
      for (const before of [null, ...ids(sorted)]) {
        const expected = sorted.filter((e) => before === null || compareIds(e.postId, before) < 0).slice(0, 7);
        assert.deepEqual(await cache.page(reader, 7, before), { entries: expected, complete: true }, `before ${before}`);
      }
      const doomed = sorted.filter((_, i) => i % 3 === 1);
      for (const e of doomed) await cache.remove([reader], e.postId);
      await cache.remove([reader], new IdGenerator(301).next(ms)); // not in the feed: nothing happens
      sorted = sorted.filter((e) => !doomed.includes(e));
      assert.deepEqual(await readAll(cache, reader, 5), sorted);
    });

    it("tells an empty-but-filled feed from a miss", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const reader = user();
      assert.equal(await cache.isCached(reader), false);
      assert.equal(await cache.page(reader, 10, null), null);
      await cache.fill(reader, [], 10);
      assert.equal(await cache.isCached(reader), true);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: [], complete: true });
      assert.deepEqual(await cache.page(reader, 10, gen.next()), { entries: [], complete: true });
      // A refill replaces the feed.
      const e = post(user());
      await cache.fill(reader, [e], 10);
      await cache.fill(reader, [], 10);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: [], complete: true });
    });

    it("adds only to cached readers, in order, once", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const [cached, empty, uncached, author] = [user(), user(), user(), user()];
      const [old, mid, fresh] = [post(author, Date.now() - 3000), post(author, Date.now() - 2000), post(author)];
      await cache.fill(cached, [fresh, old], 10);
      await cache.fill(empty, [], 10);
      await cache.add([cached, empty, uncached], mid, 10);
      await cache.add([cached], mid, 10); // a redelivery: no duplicate
      assert.deepEqual(await cache.page(cached, 10, null), { entries: [fresh, mid, old], complete: true });
      assert.deepEqual(await cache.page(empty, 10, null), { entries: [mid], complete: true });
      assert.equal(await cache.isCached(uncached), false);
      assert.equal(await cache.page(uncached, 10, null), null);
      await cache.add([], mid, 10);
    });

    it("adds to a thousand readers at once", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const readers = Array.from({ length: 1000 }, user);
      const author = user();
      const first = post(author, Date.now() - 1000);
      const filled = readers.filter((_, i) => i % 2 === 0);
      for (const r of filled) await cache.fill(r, [first], 3);
      const e = post(author);
      await cache.add(readers, e, 3);
      for (const [i, r] of readers.entries()) {
        if (i % 2 === 0) assert.deepEqual((await cache.page(r, 10, null))?.entries, [e, first], `reader ${i}`);
        else assert.equal(await cache.isCached(r), false, `reader ${i}`);
      }
      await cache.remove(readers, e.postId);
      for (const r of filled.slice(0, 50)) assert.deepEqual((await cache.page(r, 10, null))?.entries, [first]);
    });

    it("keeps the newest entries up to the cap, and says when a page may continue in the store", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const [reader, author] = [user(), user()];
      const t = Date.now() - 100_000;
      const feed = Array.from({ length: 6 }, (_, i) => post(author, t + i * 1000)).reverse(); // newest first
      // Filled with more than the cap (the store had more): the newest 3, and the rest may continue.
      await cache.fill(reader, feed, 3);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: feed.slice(0, 3), complete: false });
      assert.deepEqual(await cache.page(reader, 2, null), { entries: feed.slice(0, 2), complete: true });
      assert.deepEqual(await cache.page(reader, 3, null), { entries: feed.slice(0, 3), complete: false });
      assert.deepEqual(await cache.page(reader, 2, feed[0]!.postId), { entries: feed.slice(1, 3), complete: false });
      assert.deepEqual(await cache.page(reader, 2, feed[2]!.postId), { entries: [], complete: false });
      // A new post pushes the oldest out.
      const newer = post(author);
      await cache.add([reader], newer, 3);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: [newer, ...feed.slice(0, 2)], complete: false });
      // A post older than what a trimmed feed holds belongs to the store's part: not added.
      await cache.add([reader], post(author, t - 50_000), 3);
      // Even after removals left room under the cap.
      await cache.remove([reader], newer.postId);
      await cache.add([reader], post(author, t - 40_000), 3);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: feed.slice(0, 2), complete: false });
      // But a post between the cached ones, or newer, is.
      const between = { postId: (BigInt(feed[1]!.postId) + 1n).toString(), authorId: author }; // same ms as feed[1], above it
      assert.equal(idTime(between.postId), idTime(feed[1]!.postId));
      await cache.add([reader], between, 3);
      assert.deepEqual(await cache.page(reader, 10, null), { entries: [feed[0], between, feed[1]], complete: false });

      // Fewer entries than the cap: the whole feed, complete, until adds push it over the cap.
      const small = user();
      await cache.fill(small, feed.slice(4), 3);
      assert.deepEqual(await cache.page(small, 10, null), { entries: feed.slice(4), complete: true });
      const older = post(author, t - 10_000); // older than all: the whole feed is cached, so it goes in
      await cache.add([small], older, 3);
      assert.deepEqual(await cache.page(small, 10, null), { entries: [...feed.slice(4), older], complete: true });
      await cache.add([small], feed[3]!, 3);
      assert.deepEqual(await cache.page(small, 10, null), { entries: feed.slice(3), complete: false });
      assert.deepEqual(await cache.page(small, 1, null), { entries: feed.slice(3, 4), complete: true });
      // A fill of exactly the cap can't tell whether the store has more: it may continue.
      await cache.fill(small, feed.slice(0, 3), 3);
      assert.deepEqual(await cache.page(small, 10, null), { entries: feed.slice(0, 3), complete: false });
    });

    it("removes a post from given readers, one author's posts, and whole feeds", async () => {
      const cache = await open({ ttlSeconds: 60 });
      const [r1, r2, r3, a, b] = [user(), user(), user(), user(), user()];
      const [pa1, pb1, pa2, pb2] = [post(a), post(b), post(a), post(b)];
      for (const r of [r1, r2]) await cache.fill(r, [pa1, pb1, pa2, pb2], 10);
      await cache.remove([r2, r3], pb1.postId);
      assert.deepEqual(await cache.page(r2, 10, null), { entries: [pb2, pa2, pa1], complete: true });
      assert.deepEqual((await cache.page(r1, 10, null))?.entries, [pb2, pa2, pb1, pa1]);
      assert.equal(await cache.isCached(r3), false);
      await cache.removeAuthor(r1, a);
      assert.deepEqual(await cache.page(r1, 10, null), { entries: [pb2, pb1], complete: true });
      await cache.removeAuthor(r1, a); // idempotent
      await cache.removeAuthor(r1, b); // leaves a cached, empty feed
      assert.deepEqual(await cache.page(r1, 10, null), { entries: [], complete: true });
      await cache.removeAuthor(r3, a); // not cached: stays a miss
      assert.equal(await cache.isCached(r3), false);
      await cache.drop(r2);
      assert.equal(await cache.isCached(r2), false);
      assert.equal(await cache.page(r2, 10, null), null);
      await cache.add([r2], post(a), 10);
      assert.equal(await cache.isCached(r2), false);
      await cache.drop(r2); // idempotent
    });

    it("forgets an idle feed after its TTL; touch keeps it", async () => {
      const cache = await open({ ttlSeconds: 1 });
      const [kept, idle, author] = [user(), user(), user()];
      const e = post(author);
      await cache.fill(kept, [e], 10);
      await cache.fill(idle, [e], 10);
      await sleep(600);
      await cache.touch(kept);
      await cache.add([idle], post(author), 10); // an add is no read: it refreshes nothing
      await sleep(650); // idle expired at 1.0 s; kept expires at ~1.6 s
      assert.equal(await cache.isCached(idle), false);
      assert.equal(await cache.page(idle, 10, null), null);
      assert.deepEqual(await cache.page(kept, 10, null), { entries: [e], complete: true });
      await cache.add([idle], post(author), 10); // expired: no partial feed comes back
      assert.equal(await cache.isCached(idle), false);
      await sleep(700);
      assert.equal(await cache.isCached(kept), false);
      await cache.touch(kept); // not cached: nothing to refresh
      assert.equal(await cache.isCached(kept), false);
    });
  });
}

export function postCacheContract(name: string, open: () => Promise<PostCache>): void {
  describe(`PostCache contract: ${name}`, () => {
    const gen = new IdGenerator(8);
    const bytesOf = (m: Map<string, Uint8Array>, id: string) => {
      const b = m.get(id);
      return b === undefined ? undefined : [...b];
    };

    it("round-trips bytes, and deletes", async () => {
      const cache = await open();
      const [p1, p2, p3, missing] = [gen.next(), gen.next(), gen.next(), gen.next()];
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const view = new Uint8Array(all.buffer, 10, 5); // a view into a larger buffer: only its bytes
      await cache.setMany(
        [
          { postId: p1, bytes: all },
          { postId: p2, bytes: new Uint8Array(0) },
          { postId: p3, bytes: view },
        ],
        60,
      );
      const got = await cache.getMany([p1, p2, p3, missing, p1]);
      assert.deepEqual([...got.keys()].sort(), [p1, p2, p3].sort(), "missing ids are absent");
      assert.ok(got.get(p1) instanceof Uint8Array);
      assert.deepEqual(bytesOf(got, p1), [...all]);
      assert.deepEqual(bytesOf(got, p2), []);
      assert.deepEqual(bytesOf(got, p3), [10, 11, 12, 13, 14]);
      await cache.setMany([{ postId: p1, bytes: Uint8Array.of(1, 2, 3) }], 60); // overwrite
      assert.deepEqual(bytesOf(await cache.getMany([p1]), p1), [1, 2, 3]);
      await cache.delete([p1, p3, missing]);
      const left = await cache.getMany([p1, p2, p3]);
      assert.deepEqual([...left.keys()], [p2]);
      assert.equal((await cache.getMany([])).size, 0);
      await cache.setMany([], 60);
      await cache.delete([]);
    });

    it("forgets posts after their TTL", async () => {
      const cache = await open();
      const [short, long] = [gen.next(), gen.next()];
      await cache.setMany([{ postId: short, bytes: Uint8Array.of(1) }], 1);
      await cache.setMany([{ postId: long, bytes: Uint8Array.of(2) }], 60);
      await sleep(1500);
      const got = await cache.getMany([short, long]);
      assert.deepEqual([...got.keys()], [long]);
    });

    it("reads and writes many posts at once", async () => {
      const cache = await open();
      const posts = Array.from({ length: 1200 }, (_, i) => ({ postId: gen.next(), bytes: new TextEncoder().encode(`post ${i}`) }));
      await cache.setMany(posts, 60);
      const got = await cache.getMany(posts.map((p) => p.postId));
      assert.equal(got.size, posts.length);
      for (const p of posts) assert.deepEqual(bytesOf(got, p.postId), [...p.bytes]);
    });
  });
}
