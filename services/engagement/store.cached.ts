// The engagement store with its counts behind a cache (the Cassandra deployment: a post's counts
// are the sum of 16 shard partitions, so a feed page of 10 posts reads 160 partitions without
// it). Every change invalidates the post's counts after it is stored; the caller's own likes are
// never cached. A read that raced with a change can put back the counts from before it, so the
// counts a page shows may lag a change by at most the TTL; the counts a Like or AddComment
// returns, and the store, are exact.
import type { OptionalCache } from "../platform/cache.optional.js";
import type { EncodedEvent } from "../platform/events.js";
import type { CommentPage, CommentRecord, Counts, EngagementStore, LikerCursor, LikerPage, PostCounts } from "./store.js";

export class CountsCachedStore implements EngagementStore {
  constructor(
    private readonly inner: EngagementStore,
    private readonly cache: OptionalCache<Counts>,
  ) {}

  async like(postId: string, userId: string, now: number, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    return this.changed(postId, await this.inner.like(postId, userId, now, event));
  }

  async unlike(postId: string, userId: string, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    return this.changed(postId, await this.inner.unlike(postId, userId, event));
  }

  likers(postId: string, limit: number, after: LikerCursor | null): Promise<LikerPage> {
    return this.inner.likers(postId, limit, after);
  }

  async addComment(comment: CommentRecord, requestId: string, event: (comment: CommentRecord) => EncodedEvent): Promise<CommentRecord> {
    return this.changed(comment.postId, await this.inner.addComment(comment, requestId, event));
  }

  comment(postId: string, commentId: string): Promise<CommentRecord | undefined> {
    return this.inner.comment(postId, commentId);
  }

  async deleteComment(postId: string, commentId: string, event: EncodedEvent): Promise<void> {
    await this.changed(postId, await this.inner.deleteComment(postId, commentId, event));
  }

  comments(postId: string, limit: number, after: string | null): Promise<CommentPage> {
    return this.inner.comments(postId, limit, after);
  }

  async counts(postIds: string[], userId: string | null): Promise<PostCounts[]> {
    const found = await this.cache.get(postIds);
    const misses = [...new Set(postIds.filter((id) => !found.has(id)))];
    const [loaded, liked] = await Promise.all([
      misses.length > 0 ? this.inner.counts(misses, null) : [],
      userId === null ? new Set<string>() : this.inner.likedBy(postIds, userId),
    ]);
    for (const c of loaded) found.set(c.postId, { likes: c.likes, comments: c.comments });
    void this.cache.set(loaded.map((c) => [c.postId, { likes: c.likes, comments: c.comments }])); // not waited for
    return postIds.map((postId) => ({ postId, ...found.get(postId)!, liked: liked.has(postId) }));
  }

  likedBy(postIds: string[], userId: string): Promise<Set<string>> {
    return this.inner.likedBy(postIds, userId);
  }

  async dropPost(postId: string): Promise<void> {
    await this.changed(postId, await this.inner.dropPost(postId));
  }

  private async changed<T>(postId: string, result: T): Promise<T> {
    await this.cache.invalidate([postId]);
    return result;
  }
}
