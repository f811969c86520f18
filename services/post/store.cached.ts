// The post store behind a cache, for hydration: reads of live posts by id go to the cache
// first and fetch the misses from the store in one batch; edits and deletions invalidate before
// they return. The cache is optional (platform/cache.optional.ts): when it is unreachable, reads
// go to the store.
import { OptionalCache } from "../platform/cache.optional.js";
import type { EncodedEvent } from "../platform/events.js";
import type { Logger } from "../platform/log.js";
import type { PostCache } from "./cache.js";
import type { PostRecord, PostStore } from "./store.js";

export class CachedPostStore implements PostStore {
  private readonly cache: OptionalCache<PostRecord>;

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
      await this.cache.set(loaded.map((p) => [p.postId, p]));
    }
    return postIds.flatMap((id) => found.get(id) ?? []);
  }

  create(post: PostRecord, requestId: string, event: EncodedEvent): Promise<PostRecord> {
    return this.inner.create(post, requestId, event);
  }

  listByAuthor(authorId: string, limit: number, before: string | null): Promise<PostRecord[]> {
    return this.inner.listByAuthor(authorId, limit, before);
  }

  async update(postId: string, caption: string, hashtags: string[], mentions: string[], now: number, event: EncodedEvent): Promise<void> {
    await this.inner.update(postId, caption, hashtags, mentions, now, event);
    await this.invalidate(postId);
  }

  async markDeleted(postId: string, event: EncodedEvent): Promise<void> {
    await this.inner.markDeleted(postId, event);
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
