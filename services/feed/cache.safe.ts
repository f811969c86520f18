// The feed cache as the feed and the fanout use it: optional and never a reason to fail. An
// unreachable cache reads as a miss (the store answers) and writes are skipped; when a write to
// some readers' cached feeds fails, those feeds are dropped, so a cache that comes back never
// serves a feed that missed an entry. Opening the Redis connection is retried in the background.
import type { Runtime } from "../platform/app.js";
import type { Logger } from "../platform/log.js";
import { RedisConnection } from "../platform/redis.js";
import type { CachedPage, FeedCache, FeedEntry } from "./cache.js";
import { MemoryFeedCache } from "./cache.memory.js";
import { FEED_SCRIPTS, RedisFeedCache } from "./cache.redis.js";

export class SafeFeedCache {
  private cache: FeedCache | undefined;
  private opening: Promise<void> | undefined;
  private retryAt = 0;

  constructor(
    private readonly open: () => Promise<FeedCache>,
    private readonly log: Logger,
    readonly cap: number,
  ) {}

  /** The reader's cached entries older than `before`; null on a miss or when the cache is down. */
  async page(readerId: string, limit: number, before: string | null): Promise<CachedPage | null> {
    return this.attempt("page", null, async (c) => {
      const page = await c.page(readerId, limit, before);
      if (page) void c.touch(readerId).catch(() => undefined); // a read keeps the feed warm
      return page;
    });
  }

  async fill(readerId: string, entries: FeedEntry[]): Promise<void> {
    await this.attempt("fill", undefined, (c) => c.fill(readerId, entries, this.cap));
  }

  async add(readerIds: string[], entry: FeedEntry): Promise<void> {
    await this.write("add", readerIds, (c) => c.add(readerIds, entry, this.cap));
  }

  /** Closes the connection (at shutdown); later calls read as misses. */
  async close(): Promise<void> {
    const cache = this.cache as (FeedCache & { close?: () => Promise<void> }) | undefined;
    this.cache = undefined;
    this.retryAt = Number.POSITIVE_INFINITY;
    await cache?.close?.();
  }

  /** Forgets a reader's cached feed (the next read rebuilds it from the store). */
  async drop(readerId: string): Promise<void> {
    await this.attempt("drop", undefined, (c) => c.drop(readerId));
  }

  async remove(readerIds: string[], postId: string): Promise<void> {
    await this.write("remove", readerIds, (c) => c.remove(readerIds, postId));
  }

  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    await this.write("removeAuthor", [readerId], (c) => c.removeAuthor(readerId, authorId));
  }

  /** A write that must not leave a cached feed behind the store: on failure, drop the feeds. */
  private async write(op: string, readerIds: string[], fn: (c: FeedCache) => Promise<void>): Promise<void> {
    const ok = await this.attempt(op, false, async (c) => {
      await fn(c);
      return true;
    });
    if (!ok && this.cache) {
      await Promise.all(readerIds.map((r) => this.cache!.drop(r))).catch((err) =>
        this.log.error({ err: (err as Error).message, readers: readerIds.length }, "feed cache: could not drop feeds after a failed write"),
      );
    }
  }

  private async attempt<T>(op: string, fallback: T, fn: (c: FeedCache) => Promise<T>): Promise<T> {
    const cache = await this.connected();
    if (!cache) return fallback;
    try {
      return await fn(cache);
    } catch (err) {
      this.log.warn({ op, err: (err as Error).message }, "feed cache unavailable; using the store");
      return fallback;
    }
  }

  private async connected(): Promise<FeedCache | undefined> {
    if (this.cache) return this.cache;
    if (Date.now() < this.retryAt) return undefined;
    this.opening ??= this.open()
      .then((c) => {
        this.cache = c;
      })
      .catch((err) => {
        this.retryAt = Date.now() + 5_000;
        this.log.warn({ err: (err as Error).message }, "feed cache unavailable; retrying in 5 s");
      })
      .finally(() => {
        this.opening = undefined;
      });
    await this.opening;
    return this.cache;
  }
}

const perRuntime = new WeakMap<Runtime, SafeFeedCache>();
const memoryFeeds = new WeakMap<Runtime, MemoryFeedCache>();

/** The embedded mode's in-process feed cache: the one behind feedCacheOf, which the read model also reads. */
export function memoryFeedCacheOf(rt: Runtime): MemoryFeedCache {
  let cache = memoryFeeds.get(rt);
  if (!cache) {
    cache = new MemoryFeedCache({ ttlSeconds: Math.max(1, Math.round(rt.config.FEEDMESH_FEED_INACTIVE_AFTER / 1000)) });
    memoryFeeds.set(rt, cache);
  }
  return cache;
}

/** The feed cache of this process, shared by the feed and the fanout modules. */
export function feedCacheOf(rt: Runtime): SafeFeedCache {
  let cache = perRuntime.get(rt);
  if (!cache) {
    const ttlSeconds = Math.max(1, Math.round(rt.config.FEEDMESH_FEED_INACTIVE_AFTER / 1000));
    const open =
      rt.store.kind === "sqlite"
        ? async () => memoryFeedCacheOf(rt)
        : async () => new RedisFeedCache(await RedisConnection.open({ url: rt.config.FEEDMESH_REDIS_URL }, FEED_SCRIPTS), { ttlSeconds });
    cache = new SafeFeedCache(open, rt.log.child({ component: "feed-cache" }), rt.config.FEEDMESH_FEED_CACHE_SIZE);
    perRuntime.set(rt, cache);
  }
  return cache;
}
