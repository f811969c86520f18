// The post store behind a cache, for hydration: reads of live posts by id go to the cache
// first and fetch the misses from the store in one batch; edits and deletions invalidate before
// they return. The cache is optional (platform/cache.optional.ts): when it is unreachable, reads
// go to the store.
import { OptionalCache } from "../platform/cache.optional.js";
import type { EncodedEvent } from "../platform/events.js";
import type { Logger } from "../platform/log.js";
import type { PostCache } from "./cache.js";
import type { PostRecord, PostStore } from "./store.js";

/** How long this process reuses the head of an author's timeline; how stale another replica's may be. */
const HEAD_TTL_MS = 1_000;
const HEADS_MAX = 10_000;

export class CachedPostStore implements PostStore {
  private readonly cache: OptionalCache<PostRecord>;
  /**
   * The newest posts of recently read authors (as read: `limit` of them), for a moment: the
   * timelines of celebrities are pulled by every follower's feed read. This process's creates,
   * edits and deletions drop them at once.
   */
  private readonly heads = new Map<string, { posts: PostRecord[]; limit: number; complete: boolean; at: number }>();
  /** Counts this process's changes: a head read while one happened is not kept. */
  private changes = 0;

  constructor(
    private readonly inner: PostStore,
    open: () => Promise<PostCache>,
    ttlSeconds: number,
    log: Logger,
  ) {
    this.cache = new OptionalCache("post cache", open, ttlSeconds, log);
  }

  async get(postId: string): Promise<PostRecord | undefined> {
    const [hit] = await this.getMany([postId]);
    return hit ?? this.inner.get(postId); // a deleted post is not cached: ask the store
  }

  async getMany(postIds: string[]): Promise<PostRecord[]> {
    const found = await this.cache.get(postIds);
    const misses = postIds.filter((id) => !found.has(id));
    if (misses.length > 0) {
      const loaded = await this.inner.getMany(misses);
      for (const p of loaded) found.set(p.postId, p);
      void this.cache.set(loaded.map((p) => [p.postId, p])); // not waited for: a failed set only costs a later miss
    }
    return postIds.flatMap((id) => found.get(id) ?? []);
  }

  async create(post: PostRecord, requestId: string, event: EncodedEvent): Promise<PostRecord> {
    this.changes++;
    const created = await this.inner.create(post, requestId, event);
    this.changes++;
    this.heads.delete(post.authorId);
    return created;
  }

  async listByAuthor(authorId: string, limit: number, before: string | null): Promise<PostRecord[]> {
    if (before !== null) return (await this.fromIds(authorId, limit, before)).posts;
    const head = this.heads.get(authorId);
    if (head && Date.now() - head.at < HEAD_TTL_MS && (head.limit >= limit || head.complete)) {
      return head.posts.slice(0, limit);
    }
    const [at, changes] = [Date.now(), this.changes];
    const { posts, complete } = await this.fromIds(authorId, limit, null);
    if (changes === this.changes) {
      if (this.heads.size >= HEADS_MAX) this.heads.delete(this.heads.keys().next().value!);
      this.heads.set(authorId, { posts, limit, complete, at });
    }
    return posts;
  }

  listIdsByAuthor(authorId: string, limit: number, before: string | null): Promise<string[]> {
    return this.inner.listIdsByAuthor(authorId, limit, before);
  }

  /** A timeline page: the ids from the store, the posts through the cache; complete: nothing older. */
  private async fromIds(authorId: string, limit: number, before: string | null): Promise<{ posts: PostRecord[]; complete: boolean }> {
    const ids = await this.inner.listIdsByAuthor(authorId, limit, before);
    return { posts: await this.getMany(ids), complete: ids.length < limit };
  }

  async update(postId: string, caption: string, hashtags: string[], mentions: string[], now: number, event: EncodedEvent): Promise<void> {
    await this.inner.update(postId, caption, hashtags, mentions, now, event);
    this.changes++;
    this.heads.clear(); // edits and deletions are rare: every head goes rather than a lookup of the author
    await this.invalidate(postId);
  }

  async markDeleted(postId: string, event: EncodedEvent): Promise<void> {
    await this.inner.markDeleted(postId, event);
    this.changes++;
    this.heads.clear();
    await this.invalidate(postId);
  }

  setAuthorPrivate(userId: string, isPrivate: boolean): Promise<void> {
    return this.inner.setAuthorPrivate(userId, isPrivate);
  }

  privateAuthors(authorIds: string[]): Promise<Set<string>> {
    return this.inner.privateAuthors(authorIds);
  }

  private invalidate(postId: string): Promise<void> {
    return this.cache.invalidate([postId]);
  }
}
