// In-process adapters of the feed's cache ports (cache.ts), for the embedded mode and tests:
// Maps with the same semantics as Redis. Expiry is a stored deadline checked on access; Maps are
// kept in recency order (re-inserted on fill/touch/set) so a size bound evicts the least
// recently used feed or post first.
import { compareIds } from "../platform/ids.js";
import { type CachedPage, checkCap, checkLimit, type FeedCache, type FeedEntry, WHOLE_FEED } from "./cache.js";

interface CachedFeed {
  /** Newest first, by post id; no duplicates. */
  entries: FeedEntry[];
  /** The feed holds every entry whose post id is >= floor (WHOLE_FEED: the whole feed). */
  floor: string;
  expiresAt: number;
}

export interface MemoryFeedCacheOptions {
  /** Idle expiry: a feed not filled nor touched for this long is forgotten. */
  ttlSeconds: number;
  /** At most this many readers' feeds are kept (least recently filled/touched evicted first). */
  maxReaders?: number;
}

/** Index of the first entry (newest first) whose post id is <= id, or entries.length. */
function firstAtOrBelow(entries: FeedEntry[], id: string): number {
  let [lo, hi] = [0, entries.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(entries[mid]!.postId, id) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryFeedCache implements FeedCache {
  private readonly feeds = new Map<string, CachedFeed>();
  private readonly ttlMs: number;
  private readonly maxReaders: number;

  constructor(options: MemoryFeedCacheOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.maxReaders = options.maxReaders ?? 10_000;
  }

  async isCached(readerId: string): Promise<boolean> {
    return this.live(readerId) !== undefined;
  }

  async fill(readerId: string, entries: FeedEntry[], cap: number): Promise<void> {
    checkCap(cap);
    const sorted = [...new Map(entries.map((e) => [e.postId, { postId: e.postId, authorId: e.authorId }])).values()].sort((a, b) =>
      compareIds(b.postId, a.postId),
    );
    const kept = sorted.slice(0, cap);
    const floor = sorted.length >= cap ? kept.at(-1)!.postId : WHOLE_FEED;
    this.feeds.delete(readerId);
    this.feeds.set(readerId, { entries: kept, floor, expiresAt: Date.now() + this.ttlMs });
    this.evict();
  }

  async add(readerIds: string[], entry: FeedEntry, cap: number): Promise<void> {
    checkCap(cap);
    for (const readerId of readerIds) {
      const feed = this.live(readerId);
      if (!feed || compareIds(entry.postId, feed.floor) < 0) continue;
      const i = firstAtOrBelow(feed.entries, entry.postId);
      if (feed.entries[i]?.postId === entry.postId) continue;
      feed.entries.splice(i, 0, { postId: entry.postId, authorId: entry.authorId });
      if (feed.entries.length > cap) {
        feed.entries.length = cap;
        feed.floor = feed.entries[cap - 1]!.postId;
      }
    }
  }

  async page(readerId: string, limit: number, before: string | null): Promise<CachedPage | null> {
    checkLimit(limit);
    const feed = this.live(readerId);
    if (!feed) return null;
    let start = before === null ? 0 : firstAtOrBelow(feed.entries, before);
    if (before !== null && feed.entries[start]?.postId === before) start++;
    const slice = feed.entries.slice(start, start + limit + 1);
    return {
      entries: slice.slice(0, limit).map((e) => ({ postId: e.postId, authorId: e.authorId })),
      complete: feed.floor === WHOLE_FEED || slice.length > limit,
    };
  }

  async remove(readerIds: string[], postId: string): Promise<void> {
    for (const readerId of readerIds) {
      const feed = this.live(readerId);
      if (!feed) continue;
      const i = firstAtOrBelow(feed.entries, postId);
      if (feed.entries[i]?.postId === postId) feed.entries.splice(i, 1);
    }
  }

  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    const feed = this.live(readerId);
    if (feed) feed.entries = feed.entries.filter((e) => e.authorId !== authorId);
  }

  async drop(readerId: string): Promise<void> {
    this.feeds.delete(readerId);
  }

  async touch(readerId: string): Promise<void> {
    const feed = this.live(readerId);
    if (!feed) return;
    feed.expiresAt = Date.now() + this.ttlMs;
    this.feeds.delete(readerId);
    this.feeds.set(readerId, feed);
  }

  private live(readerId: string): CachedFeed | undefined {
    const feed = this.feeds.get(readerId);
    if (feed && feed.expiresAt <= Date.now()) {
      this.feeds.delete(readerId);
      return undefined;
    }
    return feed;
  }

  private evict(): void {
    for (const readerId of this.feeds.keys()) {
      if (this.feeds.size <= this.maxReaders) break;
      this.feeds.delete(readerId);
    }
  }
}
