// The ReadModel contract: what the home feed's fast path relies on, for both adapters (in-process,
// readmodel.memory.ts; Redis, readmodel.redis.ts). The reader's feed is written through the
// FeedCache port (as the fanout writes it), the rest through the model's own writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FeedCache, FeedEntry } from "../../services/feed/cache.js";
import type { ModelPage, ReadModel } from "../../services/feed/readmodel.js";
import { IdGenerator } from "../../services/platform/ids.js";

export interface ModelFixture {
  model: ReadModel;
  /** The feed cache the model reads readers' feeds from (cap 500). */
  feeds: FeedCache;
}

const CAP = 500;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function hit(page: ModelPage) {
  assert.ok(page.hit, `a hit, got a miss: ${!page.hit && page.miss}`);
  return page;
}

export function readModelContract(name: string, open: (options: { timelineCap: number }) => Promise<ModelFixture>): void {
  describe(`ReadModel contract: ${name}`, () => {
    const gen = new IdGenerator(11);
    let w = 0;
    const id = (ms?: number) => (ms === undefined ? gen.next() : new IdGenerator(100 + (w++ % 900)).next(ms));
    const user = () => id(Date.now() - 400 * 86_400_000);
    const entry = (authorId: string, ms?: number): FeedEntry => ({ postId: id(ms), authorId });

    /** A reader with a cached feed of these entries, an empty celebrity list and every body stored. */
    async function reader(f: ModelFixture, entries: FeedEntry[], celebrities: string[] = []) {
      const r = user();
      await f.feeds.fill(r, entries, CAP);
      await f.model.setCelebrities(r, celebrities, await f.model.celebrityStamp(r));
      await f.model.putPosts(
        entries.map((e) => ({ id: e.postId, bytes: bytes(`post ${e.postId}`) })),
        false,
      );
      return r;
    }

    async function readAll(m: ReadModel, r: string, limit: number): Promise<string[]> {
      const out: string[] = [];
      let before: string | null = null;
      do {
        const page = hit(await m.page(r, limit, before));
        assert.ok(page.items.length <= limit);
        out.push(...page.items.map((i) => i.postId));
        before = page.next;
      } while (before !== null);
      return out;
    }

    it("misses until the reader's feed and celebrity list are cached, then pages newest first, disjoint and complete", async () => {
      const f = await open({ timelineCap: 100 });
      const r = user();
      const a = user();
      assert.deepEqual(await f.model.page(r, 10, null), { hit: false, miss: "feed", authors: [] });
      const entries = Array.from({ length: 7 }, () => entry(a));
      await f.feeds.fill(r, entries, CAP);
      assert.deepEqual(await f.model.page(r, 10, null), { hit: false, miss: "celebrities", authors: [] });
      await f.model.setCelebrities(r, [], await f.model.celebrityStamp(r));
      const page = hit(await f.model.page(r, 10, null));
      const newest = entries.map((e) => e.postId).reverse();
      assert.deepEqual(
        page.items.map((i) => i.postId),
        newest,
      );
      assert.equal(page.next, null, "the whole feed is cached: no next page");
      assert.equal(page.items[0]!.post, null, "bodies not stored yet");
      assert.equal(page.items[0]!.authorId, a);
      await f.model.putPosts([{ id: newest[0]!, bytes: bytes("hello") }], false);
      assert.equal(text(hit(await f.model.page(r, 1, null)).items[0]!.post), "hello");
      for (const size of [1, 2, 3, 7]) assert.deepEqual(await readAll(f.model, r, size), newest, `pages of ${size}`);
      const two = hit(await f.model.page(r, 2, null));
      assert.equal(two.next, newest[1]);
    });

    it("merges the followed celebrities' timelines without duplicates, and names the timelines it lacks", async () => {
      const f = await open({ timelineCap: 100 });
      const [friend, star1, star2] = [user(), user(), user()];
      const t0 = Date.now() - 60_000;
      const shared = entry(star1, t0); // fanned out before the star's promotion, and in its timeline
      const feed = [shared, entry(friend, t0 + 1000), entry(friend, t0 + 3000)];
      const s1 = [shared, entry(star1, t0 + 2000), entry(star1, t0 + 5000)];
      const s2 = [entry(star2, t0 + 4000)];
      const r = await reader(f, feed, [star1, star2]);
      const missing = await f.model.page(r, 10, null);
      assert.equal(missing.hit, false);
      assert.equal(!missing.hit && missing.miss, "timelines");
      assert.deepEqual(new Set(!missing.hit ? missing.authors : []), new Set([star1, star2]));
      await f.model.timelineFill(star1, s1);
      await f.model.timelineFill(star2, s2);
      const all = [...feed, ...s1.slice(1), ...s2].sort((x, y) => (BigInt(y.postId) > BigInt(x.postId) ? 1 : -1)).map((e) => e.postId);
      for (const size of [1, 2, 4, 10]) assert.deepEqual(await readAll(f.model, r, size), all, `pages of ${size}`);
      // A new post of a star reaches its cached timeline, and the page.
      const late = entry(star2);
      await f.model.timelineAdd(late);
      assert.equal(hit(await f.model.page(r, 1, null)).items[0]!.postId, late.postId);
      await f.model.timelineRemove(late);
      assert.notEqual(hit(await f.model.page(r, 1, null)).items[0]!.postId, late.postId);
    });

    it("leaves out deleted posts from then on and refills the page from older entries; nothing writes over a tombstone", async () => {
      const f = await open({ timelineCap: 100 });
      const a = user();
      const entries = Array.from({ length: 5 }, () => entry(a));
      const r = await reader(f, entries);
      const [newest, second] = [entries[4]!.postId, entries[3]!.postId];
      await f.model.deletePost(second);
      const page = hit(await f.model.page(r, 3, null));
      assert.deepEqual(
        page.items.map((i) => i.postId),
        [newest, entries[2]!.postId, entries[1]!.postId],
      );
      await f.model.putPosts([{ id: second, bytes: bytes("resurrected?") }], true);
      await f.model.putPosts([{ id: second, bytes: bytes("resurrected?") }], false);
      await f.model.forgetPost(second);
      assert.ok(!hit(await f.model.page(r, 10, null)).items.some((i) => i.postId === second), "still deleted");
      // An edit replaces a live body; forgetting it makes the next page fetch it.
      await f.model.putPosts([{ id: newest, bytes: bytes("edited") }], true);
      assert.equal(text(hit(await f.model.page(r, 1, null)).items[0]!.post), "edited");
      await f.model.putPosts([{ id: newest, bytes: bytes("a stale fill") }], false);
      assert.equal(text(hit(await f.model.page(r, 1, null)).items[0]!.post), "edited", "a fill keeps what is there");
      await f.model.forgetPost(newest);
      assert.equal(hit(await f.model.page(r, 1, null)).items[0]!.post, null);
    });

    it("hides an unfollowed author's entries from then on (never the reader's own), and shows them again on a new follow", async () => {
      const f = await open({ timelineCap: 100 });
      const [a, b] = [user(), user()];
      const r0 = user();
      const own = entry(r0);
      const entries = [entry(a), entry(b), entry(a), own];
      await f.feeds.fill(r0, entries, CAP);
      await f.model.setCelebrities(r0, [], await f.model.celebrityStamp(r0));
      await f.model.hideAuthor(r0, a);
      await f.model.hideAuthor(r0, r0);
      assert.deepEqual(await readAll(f.model, r0, 1), [entries[1]!.postId, own.postId]);
      await f.model.unhideAuthor(r0, a);
      assert.equal((await readAll(f.model, r0, 2)).length, 4);
    });

    it("drops a reader's celebrity list on a change of follows or of any account's state, and ignores a fill that raced a change", async () => {
      const f = await open({ timelineCap: 100 });
      const r = await reader(f, [entry(user())]);
      hit(await f.model.page(r, 5, null));
      await f.model.celebritiesChanged(r);
      assert.equal((await f.model.page(r, 5, null)).hit, false);
      const stale = await f.model.celebrityStamp(r);
      await f.model.celebritiesChanged(r); // a follow while the list was being read
      await f.model.setCelebrities(r, [], stale);
      assert.deepEqual(await f.model.page(r, 5, null), { hit: false, miss: "celebrities", authors: [] });
      await f.model.setCelebrities(r, [], await f.model.celebrityStamp(r));
      hit(await f.model.page(r, 5, null));
      await f.model.celebrityStatesChanged(); // a promotion somewhere: every list is read again
      assert.deepEqual(await f.model.page(r, 5, null), { hit: false, miss: "celebrities", authors: [] });
    });

    it("answers deep when a page reaches below what a trimmed feed or timeline holds", async () => {
      const f = await open({ timelineCap: 3 });
      const a = user();
      const t0 = Date.now() - 100_000;
      const entries = Array.from({ length: 8 }, (_, i) => entry(a, t0 + i * 1000));
      const r = user();
      await f.feeds.fill(r, entries, 5); // keeps the newest 5: older ones only in the store
      await f.model.setCelebrities(r, [], await f.model.celebrityStamp(r));
      const first = hit(await f.model.page(r, 4, null));
      assert.equal(first.items.length, 4);
      assert.equal(first.next, entries[4]!.postId);
      assert.deepEqual(await f.model.page(r, 4, first.next), { hit: false, miss: "deep", authors: [] });
      // A trimmed celebrity timeline (cap 3) ends the cached part the same way.
      const star = user();
      const r2 = await reader(f, [], [star]);
      await f.model.timelineFill(
        star,
        Array.from({ length: 6 }, (_, i) => entry(star, t0 + i * 1000)),
      );
      const p = hit(await f.model.page(r2, 2, null));
      assert.equal(p.items.length, 2);
      assert.deepEqual(await f.model.page(r2, 2, p.next), { hit: false, miss: "deep", authors: [] });
    });

    it("keeps profiles, counts and like states, each replaced only when asked", async () => {
      const f = await open({ timelineCap: 100 });
      const a = user();
      const old = entry(a, Date.now() - 86_400_000);
      const future = entry(a, Date.now() + 60_000); // created after the like set: known without a lookup
      const r = await reader(f, [old, future]);
      let [pf, po] = hit(await f.model.page(r, 10, null)).items;
      assert.deepEqual([pf!.user, pf!.counts, pf!.liked, po!.liked], [null, null, null, null]);
      await f.model.putUsers([{ id: a, bytes: bytes("alice") }], false);
      await f.model.putUsers([{ id: a, bytes: bytes("not alice") }], false);
      await f.model.putCounts([{ postId: old.postId, counts: { likes: 3, comments: 1 } }], false);
      await f.model.putCounts([{ postId: old.postId, counts: { likes: 9, comments: 9 } }], false);
      await f.model.putLiked(r, [{ postId: old.postId, liked: true }], false); // no set yet: nothing
      [pf, po] = hit(await f.model.page(r, 10, null)).items;
      assert.equal(text(po!.user), "alice");
      assert.deepEqual(po!.counts, { likes: 3, comments: 1 });
      assert.equal(po!.liked, null);
      await f.model.putLiked(r, [{ postId: old.postId, liked: true }], true);
      [pf, po] = hit(await f.model.page(r, 10, null)).items;
      assert.equal(po!.liked, true);
      assert.equal(pf!.liked, false, "a post newer than the like set: not liked, no lookup");
      await f.model.putLiked(r, [{ postId: future.postId, liked: true }], false);
      await f.model.putCounts([{ postId: old.postId, counts: { likes: 4, comments: 1 } }], true);
      await f.model.putUsers([{ id: a, bytes: bytes("alice 2") }], true);
      [pf, po] = hit(await f.model.page(r, 10, null)).items;
      assert.equal(pf!.liked, true);
      assert.deepEqual(po!.counts, { likes: 4, comments: 1 });
      assert.equal(text(po!.user), "alice 2");
      await f.model.forgetCounts(old.postId);
      await f.model.dropUser(a);
      [, po] = hit(await f.model.page(r, 10, null)).items;
      assert.deepEqual([po!.counts, po!.user], [null, null]);
    });
  });
}
