// The hybrid feed: celebrity merge and threshold crossing, paging past the cache's cap, in-flight
// unfollows and a lost cache. The same suite runs on the embedded backends (here) and on
// Cassandra, Kafka and Redis (feed.real.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { feedCacheOf } from "../services/feed/cache.safe.js";
import { feedReaderOf, openFeedStore } from "../services/feed/index.js";
import { newUser, readFeed, settle, startSystem, type TestSystem } from "./harness.js";

const THRESHOLD = 3;

export function hybridFeedSuite(name: string, env: Record<string, string>): void {
  describe(`the hybrid feed (${name})`, () => {
    let s: TestSystem;
    before(async () => {
      s = await startSystem({ FEEDMESH_CELEBRITY_THRESHOLD: String(THRESHOLD), FEEDMESH_FEED_CACHE_SIZE: "10", ...env });
    });
    after(() => s.stop());

    it("merges celebrities' posts at read time, newest first, without duplicates, across threshold crossings", async () => {
      const c = s.grpc;
      const star = await newUser(c, "star");
      const friend = await newUser(c, "friend");
      const reader = await newUser(c, "reader");
      const others = [await newUser(c, "o"), await newUser(c, "o")];
      await c.graph.follow({ userId: friend.id }, reader.opts);
      await c.graph.follow({ userId: star.id }, reader.opts);
      const made: string[] = [];
      const post = async (u: { opts: { headers: Record<string, string> } }, caption: string) => {
        made.push((await c.post.createPost({ caption }, u.opts)).post!.postId);
        await settle(s);
      };
      await post(star, "before fame"); // fanned out: 1 follower
      await post(friend, "f1");
      for (const o of others) await c.graph.follow({ userId: star.id }, o.opts); // 3 followers: a celebrity
      await settle(s);
      await post(star, "famous 1"); // not fanned out, pulled at read time
      await post(friend, "f2");
      await post(star, "famous 2");
      // The precomputed feed holds no celebrity-era post of the star: they are merged at read time.
      const stored = (await (await openFeedStore(s.app.runtime)).page(reader.id, 100, null)).map((e) => e.postId);
      assert.deepEqual(stored, [made[3], made[1], made[0]]);
      assert.deepEqual(await readFeed(c, reader.opts), [...made].reverse());
      assert.deepEqual(await readFeed(c, reader.opts, 2), [...made].reverse(), "small pages: disjoint and complete");
      // Back below the threshold: the recent posts are pushed into the followers' feeds.
      await c.graph.unfollow({ userId: star.id }, others[0]!.opts);
      await settle(s);
      await post(star, "fading");
      assert.deepEqual(await readFeed(c, reader.opts), [...made].reverse());
      // Deleting a celebrity-era post removes it from every page.
      await c.post.deletePost({ postId: made[2]! }, star.opts);
      assert.deepEqual(await readFeed(c, reader.opts, 3), [...made].filter((_, i) => i !== 2).reverse());
    });

    it("keeps a celebrity's older posts in the feed of one who followed it as a celebrity, after its demotion", async () => {
      const c = s.grpc;
      const star = await newUser(c, "star");
      const fans = [await newUser(c, "fan"), await newUser(c, "fan")];
      for (const f of fans) await c.graph.follow({ userId: star.id }, f.opts); // 2 followers: fanned out
      const made: string[] = [];
      for (const caption of ["old one", "old two"]) made.push((await c.post.createPost({ caption }, star.opts)).post!.postId);
      await settle(s);
      const third = await newUser(c, "fan");
      await c.graph.follow({ userId: star.id }, third.opts); // 3 followers: promoted
      await settle(s);
      const late = await newUser(c, "late");
      await c.graph.follow({ userId: star.id }, late.opts); // follows a celebrity: no backfill, it pulls
      await settle(s);
      made.push((await c.post.createPost({ caption: "famous" }, star.opts)).post!.postId);
      await settle(s);
      const newest = [...made].reverse();
      assert.deepEqual(await readFeed(c, late.opts), newest);
      // Down to 2 followers: demoted; the pull stops, and nothing it showed disappears.
      await c.graph.unfollow({ userId: star.id }, third.opts);
      await c.graph.unfollow({ userId: star.id }, fans[0]!.opts);
      await settle(s);
      const store = await openFeedStore(s.app.runtime);
      assert.deepEqual(
        (await store.page(late.id, 100, null)).map((e) => e.postId),
        newest,
        "in the stored feed: no longer pulled",
      );
      assert.deepEqual(await readFeed(c, late.opts), newest);
      assert.deepEqual(await readFeed(c, fans[1]!.opts), newest);
      assert.deepEqual(await readFeed(c, fans[0]!.opts), [], "the unfollowed star's posts left the feed");
    });

    it("keeps deletions made while promoted, across a demotion by removed followers and a re-promotion", async () => {
      const c = s.grpc;
      const star = await newUser(c, "star");
      const fans = [await newUser(c, "fan"), await newUser(c, "fan"), await newUser(c, "fan")];
      for (const f of fans.slice(0, 2)) await c.graph.follow({ userId: star.id }, f.opts);
      const post = async (caption: string) => (await c.post.createPost({ caption }, star.opts)).post!.postId;
      const [old1, old2] = [await post("old one"), await post("old two")];
      await settle(s);
      await c.graph.follow({ userId: star.id }, fans[2]!.opts); // promoted
      await settle(s);
      const late = await newUser(c, "late");
      await c.graph.follow({ userId: star.id }, late.opts);
      const [famous1, famous2] = [await post("famous one"), await post("famous two")];
      await settle(s);
      // Deleted while a celebrity: one fanned-out post and one pulled post.
      await c.post.deletePost({ postId: old1 }, star.opts);
      await c.post.deletePost({ postId: famous1 }, star.opts);
      await settle(s);
      const left = [famous2, old2];
      for (const r of [late, fans[0]!]) assert.deepEqual(await readFeed(c, r.opts), left);
      // The star removes two followers: demoted. Nothing deleted comes back, nothing else goes.
      await c.graph.removeFollower({ userId: fans[2]!.id }, star.opts);
      await c.graph.removeFollower({ userId: late.id }, star.opts);
      await settle(s);
      const store = await openFeedStore(s.app.runtime);
      for (const r of fans.slice(0, 2)) {
        assert.deepEqual(await readFeed(c, r.opts), left);
        assert.deepEqual(
          (await store.page(r.id, 100, null)).map((e) => e.postId),
          left,
        );
      }
      for (const r of [late, fans[2]!]) assert.deepEqual(await readFeed(c, r.opts), [], "a removed follower sees none");
      // Followed again, by both: promoted again; the same posts, pulled again, once each.
      for (const r of [late, fans[2]!]) await c.graph.follow({ userId: star.id }, r.opts);
      await settle(s);
      const famous3 = await post("famous three");
      await settle(s);
      for (const r of [late, fans[0]!]) assert.deepEqual(await readFeed(c, r.opts), [famous3, ...left]);
    });

    it("gives a follower approved while a private account was a celebrity its older posts at the demotion", async () => {
      const c = s.grpc;
      const star = await newUser(c, "star");
      const fans = [await newUser(c, "fan"), await newUser(c, "fan")];
      for (const f of fans) await c.graph.follow({ userId: star.id }, f.opts);
      const old = (await c.post.createPost({ caption: "before private" }, star.opts)).post!.postId;
      await settle(s);
      await c.graph.updatePrivacySettings({ settings: { private: true } }, star.opts);
      const [third, asker] = [await newUser(c, "fan"), await newUser(c, "asker")];
      for (const r of [third, asker]) await c.graph.follow({ userId: star.id }, r.opts); // requests
      await settle(s);
      assert.deepEqual(await readFeed(c, asker.opts), [], "a pending request sees nothing");
      await c.graph.approveFollowRequest({ userId: third.id }, star.opts); // 3 followers: promoted
      await settle(s);
      await c.graph.approveFollowRequest({ userId: asker.id }, star.opts); // approved as a celebrity: pulls
      const famous = (await c.post.createPost({ caption: "private and famous" }, star.opts)).post!.postId;
      await settle(s);
      assert.deepEqual(await readFeed(c, asker.opts), [famous, old]);
      for (const r of [third, fans[0]!]) await c.graph.unfollow({ userId: star.id }, r.opts); // demoted
      await settle(s);
      const store = await openFeedStore(s.app.runtime);
      for (const r of [asker, fans[1]!]) {
        assert.deepEqual(await readFeed(c, r.opts), [famous, old]);
        assert.deepEqual(
          (await store.page(r.id, 100, null)).map((e) => e.postId),
          [famous, old],
        );
      }
    });

    it("pages past the cache's cap into the store with no gap", async () => {
      const c = s.grpc;
      const author = await newUser(c, "author");
      const reader = await newUser(c, "reader");
      await c.graph.follow({ userId: author.id }, reader.opts);
      const made: string[] = [];
      for (let i = 0; i < 27; i++) made.push((await c.post.createPost({ caption: `p${i}` }, author.opts)).post!.postId);
      await settle(s);
      assert.deepEqual(await readFeed(c, reader.opts, 4), [...made].reverse());
      const cached = await feedCacheOf(s.app.runtime).page(reader.id, 100, null);
      assert.equal(cached?.entries.length, 10, "the first read filled the cache up to its cap");
      assert.equal(cached?.complete, false);
      const late = (await c.post.createPost({ caption: "late" }, author.opts)).post!.postId;
      await settle(s);
      assert.deepEqual(await readFeed(c, reader.opts, 6), [...made, late].reverse());
    });

    it("hides an unfollowed author's posts at once, even before the cleanup event ran", async () => {
      const c = s.grpc;
      const author = await newUser(c, "author");
      const reader = await newUser(c, "reader");
      await c.graph.follow({ userId: author.id }, reader.opts);
      await c.post.createPost({ caption: "soon gone" }, author.opts);
      await settle(s);
      assert.equal((await readFeed(c, reader.opts)).length, 1);
      await s.app.backends.bus.stop(); // the cleanup is "in flight"
      try {
        await c.graph.unfollow({ userId: author.id }, reader.opts);
        assert.deepEqual(await readFeed(c, reader.opts), []);
      } finally {
        await s.app.backends.bus.start();
      }
    });

    it("serves a cached reader from the read model, with each change made before its call returned", async () => {
      const c = s.grpc;
      const author = await newUser(c, "author");
      const reader = await newUser(c, "reader");
      await c.graph.follow({ userId: author.id }, reader.opts);
      const p1 = (await c.post.createPost({ caption: "one" }, author.opts)).post!.postId;
      const p2 = (await c.post.createPost({ caption: "two" }, author.opts)).post!.postId;
      await settle(s);
      const served = feedReaderOf(s.app.runtime)!.served;
      const page = () => c.feed.getHomeFeed({ pageSize: 10 }, reader.opts);
      assert.deepEqual(
        (await page()).items.map((i) => i.post!.postId),
        [p2, p1],
      );
      const fast = served.fast;
      const warm = await page();
      assert.equal(served.fast, fast + 1, "the second read is served by the read model");
      assert.equal(warm.items[0]!.author!.username, author.username);
      assert.deepEqual(
        warm.items.map((i) => [i.counters?.likeCount, i.counters?.likedByCaller]),
        [
          [0n, false],
          [0n, false],
        ],
      );
      await s.app.backends.bus.stop(); // every event is "in flight": only the calls' own writes count
      try {
        await c.post.editPost({ postId: p2, caption: "two, edited" }, author.opts);
        await c.identity.updateProfile({ displayName: "Renamed", updateMask: ["display_name"] }, author.opts);
        await c.engagement.like({ postId: p1 }, reader.opts);
        let items = (await page()).items;
        assert.equal(items[0]!.post!.caption, "two, edited");
        assert.equal(items[0]!.author!.displayName, "Renamed");
        assert.deepEqual([items[1]!.counters?.likeCount, items[1]!.counters?.likedByCaller], [1n, true]);
        await c.post.deletePost({ postId: p2 }, author.opts);
        items = (await page()).items;
        assert.deepEqual(
          items.map((i) => i.post!.postId),
          [p1],
        );
        await c.graph.removeFollower({ userId: reader.id }, author.opts);
        assert.deepEqual((await page()).items, []);
        assert.ok(served.fast >= fast + 4, "all of them from the read model");
      } finally {
        await s.app.backends.bus.start();
      }
    });

    it("rebuilds a dropped cache from the store, and keeps serving while it is gone", async () => {
      const c = s.grpc;
      const author = await newUser(c, "author");
      const reader = await newUser(c, "reader");
      await c.graph.follow({ userId: author.id }, reader.opts);
      const first = (await c.post.createPost({ caption: "one" }, author.opts)).post!.postId;
      await settle(s);
      assert.deepEqual(await readFeed(c, reader.opts), [first]);
      const cache = feedCacheOf(s.app.runtime);
      // The reader's cached feed is lost (eviction, an inactive reader, a flushed cache).
      await cache.drop(reader.id);
      assert.equal(await cache.page(reader.id, 10, null), null);
      const second = (await c.post.createPost({ caption: "two" }, author.opts)).post!.postId;
      await settle(s);
      assert.deepEqual(await readFeed(c, reader.opts), [second, first], "the first read after the loss is complete");
    });
  });
}
