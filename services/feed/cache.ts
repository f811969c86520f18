// The home feed's cache ports: each reader's hot feed (the newest entries, capped) and the
// hydration cache of serialized posts. Adapters: cache.memory.ts (in-process) and
// cache.redis.ts (Redis). A cache is an accelerator, never the source of truth: every method may
// throw when the backing cache is unavailable, and callers treat that as a miss (read from the
// FeedStore / the post service) and carry on. docs/feed-cache.md describes the layout.
import type { FeedEntry } from "./store.js";

export type { FeedEntry };

export interface CachedPage {
  /** Entries older than the cursor, newest first (post-id order). */
  entries: FeedEntry[];
  /**
   * False when the feed may continue beyond what the cache holds: the cached feed was trimmed at
   * its cap (older entries live only in the store) and this page reached the oldest cached entry.
   * The caller then continues from the store, after the page's last entry (or after the cursor
   * when the page is empty). True when the cache alone answers the page and what follows it.
   */
  complete: boolean;
}

/**
 * Each reader's hot feed as a capped sorted set, newest first, ordered exactly by post id (ids
 * are time-ordered). A cached feed always holds a contiguous newest part of the reader's feed:
 * either the whole feed, or (once trimmed at the cap) every entry newer than a floor, so paging
 * through the cache and then through the store never skips nor repeats an entry.
 */
export interface FeedCache {
  /** Whether the reader's feed is cached; a feed filled with zero entries counts as cached. */
  isCached(readerId: string): Promise<boolean>;
  /**
   * Replaces the reader's cached feed with these entries (the newest of the reader's feed, as
   * read from the store; any order), keeps the newest `cap`, marks the feed cached and sets its
   * idle expiry. Fewer than `cap` entries means "this is the whole feed"; `cap` or more means
   * the store may hold older ones (pass up to cap + 1 to tell a feed of exactly cap apart).
   */
  fill(readerId: string, entries: FeedEntry[], cap: number): Promise<void>;
  /**
   * Adds an entry to those of these readers whose feed is cached (uncached readers are left
   * alone: no partial feeds), then trims each to `cap` (dropping the oldest). An entry older
   * than a trimmed feed's floor is not added (it belongs to the part only the store holds).
   * Adding an entry twice changes nothing. Does not refresh the idle expiry.
   */
  add(readerIds: string[], entry: FeedEntry, cap: number): Promise<void>;
  /** Null when the reader's feed is not cached; else the cached entries older than `before`. */
  page(readerId: string, limit: number, before: string | null): Promise<CachedPage | null>;
  /** Removes a post from these readers' cached feeds. */
  remove(readerIds: string[], postId: string): Promise<void>;
  /** Removes one author's posts from a reader's cached feed (unfollow, block). */
  removeAuthor(readerId: string, authorId: string): Promise<void>;
  /** Forgets the reader's cached feed (the next read fills it again from the store). */
  drop(readerId: string): Promise<void>;
  /** Refreshes the idle expiry of the reader's cached feed (on read); no-op when not cached. */
  touch(readerId: string): Promise<void>;
}

/** The floor of a feed that holds the whole feed (no post id is below it). */
export const WHOLE_FEED = "0";

export function checkCap(cap: number): void {
  if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`feed cache cap must be a positive integer, got ${cap}`);
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`page limit must be a non-negative integer, got ${limit}`);
}
