// The post store behind a cache, for hydration: reads of live posts by id go to the cache
// first and fetch the misses from the store in one batch; edits and deletions invalidate before
// they return. The cache is optional: when it is unreachable, reads go to the store. A failed
// invalidation leaves a stale entry for at most the cache's TTL (logged as an error).
import type { EncodedEvent } from "../platform/events.js";
import type { Logger } from "../platform/log.js";
import type { PostCache } from "./cache.js";
import type { PostRecord, PostStore } from "./store.js";

export class CachedPostStore implements PostStore {
  private cache: PostCache | undefined;
  private retryAt = 0;
  private opening: Promise<void> | undefined;

  constructor(
    private readonly inner: PostStore,
    private readonly open: () => Promise<PostCache>,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  async get(postId: string): Promise<PostRecord | undefined> {
    const [hit] = await this.getMany([postId]);
    return hit ?? this.inner.get(postId); // a deleted post is not cached: ask the store
  }

  async getMany(postIds: string[]): Promise<PostRecord[]> {
    const cache = await this.connected();
    const found = new Map<string, PostRecord>();
    if (cache) {
      try {
        for (const [id, bytes] of await cache.getMany(postIds)) found.set(id, JSON.parse(Buffer.from(bytes).toString()));
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "post cache unavailable; reading the store");
      }
    }
    const misses = postIds.filter((id) => !found.has(id));
    if (misses.length > 0) {
      const loaded = await this.inner.getMany(misses);
      for (const p of loaded) found.set(p.postId, p);
      if (cache && loaded.length > 0) {
        const entries = loaded.map((p) => ({ postId: p.postId, bytes: Buffer.from(JSON.stringify(p)) }));
        await cache.setMany(entries, this.ttlSeconds).catch(() => undefined);
      }
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

  private async invalidate(postId: string): Promise<void> {
    const cache = await this.connected();
    await cache
      ?.delete([postId])
      .catch((err) =>
        this.log.error({ postId, err: (err as Error).message, staleForAtMostSeconds: this.ttlSeconds }, "post cache: invalidation failed"),
      );
  }

  private async connected(): Promise<PostCache | undefined> {
    if (this.cache || Date.now() < this.retryAt) return this.cache;
    this.opening ??= this.open()
      .then((c) => {
        this.cache = c;
      })
      .catch((err) => {
        this.retryAt = Date.now() + 5_000;
        this.log.warn({ err: (err as Error).message }, "post cache unavailable; retrying in 5 s");
      })
      .finally(() => {
        this.opening = undefined;
      });
    await this.opening;
    return this.cache;
  }
}
