// The fanout's memory stays bounded whatever the follower count: it hands the store one page of
// followers at a time, never the whole list. It skips exactly the posts the graph's celebrity
// index makes readers pull, and pushes them all back when a celebrity is demoted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { SafeFeedCache } from "../feed/cache.safe.js";
import type { FeedEntry, FeedStore } from "../feed/store.js";
import { decodeEvent, encodeEvent } from "../platform/events.js";
import { IdGenerator, idTime } from "../platform/ids.js";
import { Fanout, type FanoutSources } from "./fanout.js";

const noSources: FanoutSources = {
  followers: async () => ({ ids: [], followedAt: [], next: "" }),
  celebritySince: async () => null,
  posts: async () => [],
  backfilled: async () => {},
};

const created = (postId: string, authorId: string) => {
  const e = encodeEvent("posts", authorId, { event: { case: "created", value: { postId, authorId } } });
  return { topic: "posts" as const, key: authorId, event: decodeEvent("posts", e.payload), headers: {} };
};

describe("fanout", () => {
  it("fans a post out to 100,000 followers a page at a time", async () => {
    const FOLLOWERS = 100_000;
    let written = 0;
    let largest = 0;
    let cached = 0;
    const store = {
      add: async (readers: string[], _e: FeedEntry) => {
        written += readers.length;
        largest = Math.max(largest, readers.length);
      },
    } as unknown as FeedStore;
    const cache = {
      add: async (readers: string[]) => {
        cached += readers.length;
      },
    } as unknown as SafeFeedCache;
    let pagesServed = 0;
    const fanout = new Fanout(
      store,
      cache,
      {
        async followers(_author, token) {
          const start = token === "" ? 0 : Number(token);
          const ids = Array.from({ length: Math.min(1000, FOLLOWERS - start) }, (_, i) => String(start + i + 1));
          pagesServed++;
          return { ids, followedAt: ids.map(() => 0), next: start + 1000 < FOLLOWERS ? String(start + 1000) : "" };
        },
        celebritySince: async () => null,
        posts: async () => [],
        backfilled: async () => {},
      },
      { backfill: 20 },
    );
    const e = encodeEvent("posts", "7", { event: { case: "created", value: { postId: "42", authorId: "7" } } });
    const before = process.memoryUsage().heapUsed;
    await fanout.onPost({ topic: "posts", key: "7", event: decodeEvent("posts", e.payload), headers: {} });
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(written, FOLLOWERS + 1); // every follower and the author
    assert.equal(cached, FOLLOWERS + 1);
    assert.equal(pagesServed, 100);
    assert.ok(largest <= 1000, `one write took ${largest} readers`);
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);
  });

  it("does not fan out a celebrity's posts created since it became one, and fans out older ones", async () => {
    const gen = new IdGenerator(3);
    const since = Date.now();
    const [old, pulled] = [gen.next(since - 1), gen.next(since)];
    const readers: string[][] = [];
    const store = { add: async (r: string[], e: FeedEntry) => void readers.push([e.postId, ...r]) } as unknown as FeedStore;
    const cache = { add: async () => {} } as unknown as SafeFeedCache;
    const fanout = new Fanout(
      store,
      cache,
      { ...noSources, followers: async () => ({ ids: ["8", "9"], followedAt: [0, 0], next: "" }), celebritySince: async () => since },
      { backfill: 20 },
    );
    await fanout.onPost(created(pulled, "7"));
    assert.deepEqual(readers, [[pulled, "7"]]); // the author's own feed only: followers pull it
    readers.length = 0;
    await fanout.onPost(created(old, "7")); // a late event of a post from before: pushed
    assert.deepEqual(readers, [
      [old, "7"],
      [old, "8", "9"],
    ]);
  });

  it("answers a demotion by pushing every pulled post to every follower and the older ones to those who followed a celebrity, page by page, then tells the graph", async () => {
    const FOLLOWERS = 2500;
    const gen = new IdGenerator(4);
    const since = Date.now() - 60_000;
    const LATE = 10;
    // 250 posts since the promotion (three pages of posts), and older ones that were fanned out.
    const posts = [
      ...Array.from({ length: 30 }, (_, i) => gen.next(since - 30 + i)),
      ...Array.from({ length: 250 }, (_, i) => gen.next(since + i * 100)),
    ].reverse(); // newest first
    const written = new Map<string, number>();
    let largest = 0;
    const store = {
      add: async (readers: string[], e: FeedEntry) => {
        largest = Math.max(largest, readers.length);
        written.set(e.postId, (written.get(e.postId) ?? 0) + readers.length);
      },
    } as unknown as FeedStore;
    const cache = { add: async () => {} } as unknown as SafeFeedCache;
    const told: [string, number][] = [];
    const fanout = new Fanout(
      store,
      cache,
      {
        ...noSources,
        async followers(_author, token) {
          const start = token === "" ? 0 : Number(token);
          const ids = Array.from({ length: Math.min(1000, FOLLOWERS - start) }, (_, i) => String(start + i + 1));
          // followers 1..10 followed the author while it was a celebrity
          return {
            ids,
            followedAt: ids.map((id) => (Number(id) <= LATE ? since + 1 : since - 1)),
            next: start + 1000 < FOLLOWERS ? String(start + 1000) : "",
          };
        },
        async posts(_author, before, limit) {
          const from = before === null ? 0 : posts.indexOf(before) + 1;
          return posts.slice(from, from + limit);
        },
        async backfilled(author, at) {
          assert.equal(written.size, 280, "the graph is told only once every post is pushed");
          told.push([author, at]);
        },
      },
      { backfill: 20 },
    );
    const e = encodeEvent("follows", "7", {
      event: { case: "celebrityDemoting", value: { userId: "7", since: timestampFromMs(since) } },
    });
    await fanout.onFollow({ topic: "follows", key: "7", event: decodeEvent("follows", e.payload), headers: {} });
    assert.deepEqual(told, [["7", since]]);
    assert.equal(written.size, 280);
    for (const [postId, n] of written) {
      // posts since the promotion: every follower; older ones: those who followed a celebrity
      if (idTime(postId) >= since) assert.equal(n, FOLLOWERS, `post ${postId} reached ${n} feeds`);
      else assert.equal(n, LATE, `older post ${postId} reached ${n} feeds`);
    }
    assert.ok(largest <= 1000);
  });
});
