// The fanout's memory stays bounded whatever the follower count: it hands the store one page of
// followers at a time, never the whole list.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SafeFeedCache } from "../feed/cache.safe.js";
import type { FeedEntry, FeedStore } from "../feed/store.js";
import { decodeEvent, encodeEvent } from "../platform/events.js";
import { Fanout } from "./fanout.js";

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
          return { ids, next: start + 1000 < FOLLOWERS ? String(start + 1000) : "" };
        },
        followerCount: async () => FOLLOWERS,
        recentPosts: async () => [],
      },
      { backfill: 20, celebrityThreshold: 1_000_000 },
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

  it("does not fan out an author at or above the celebrity threshold", async () => {
    const readers: string[] = [];
    const store = { add: async (r: string[]) => void readers.push(...r) } as unknown as FeedStore;
    const cache = { add: async () => {} } as unknown as SafeFeedCache;
    const fanout = new Fanout(
      store,
      cache,
      {
        followers: async () => assert.fail("a celebrity's followers must not be paged"),
        followerCount: async () => 5,
        recentPosts: async () => [],
      },
      { backfill: 20, celebrityThreshold: 5 },
    );
    const e = encodeEvent("posts", "7", { event: { case: "created", value: { postId: "42", authorId: "7" } } });
    await fanout.onPost({ topic: "posts", key: "7", event: decodeEvent("posts", e.payload), headers: {} });
    assert.deepEqual(readers, ["7"]); // the author's own feed only
  });
});
