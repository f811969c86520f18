// The engagement domain: likes, comments and their counters, on posts the caller can see.
import { invalidField, notFound, permissionDenied } from "../platform/errors.js";
import { encodeEvent } from "../platform/events.js";
import { ids } from "../platform/ids.js";
import type { CommentPage, CommentRecord, EngagementStore, LikerCursor, LikerPage, PostCounts } from "./store.js";

export interface PostRef {
  postId: string;
  authorId: string;
}

/**
 * The posts as the caller sees them (asked of the post service with the caller's credential), so
 * that a private account's posts stay hidden from non-followers.
 */
export interface VisiblePosts {
  /** The post, or NOT_FOUND when it does not exist, was deleted or is hidden from the caller. */
  get(postId: string): Promise<PostRef>;
  /** The ids among these of live posts the caller can see. */
  visible(postIds: string[]): Promise<Set<string>>;
}

export class Engagement {
  constructor(private readonly store: EngagementStore) {}

  async like(me: string, postId: string, posts: VisiblePosts): Promise<PostCounts> {
    const post = await posts.get(postId);
    const counts = await this.store.like(postId, me, Date.now(), (likeCount) =>
      encodeEvent("engagement", postId, {
        event: { case: "liked", value: { postId, postAuthorId: post.authorId, userId: me, likeCount: BigInt(likeCount) } },
      }),
    );
    return { postId, ...counts, liked: true };
  }

  async unlike(me: string, postId: string, posts: VisiblePosts): Promise<PostCounts> {
    const post = await posts.get(postId);
    const counts = await this.store.unlike(postId, me, (likeCount) =>
      encodeEvent("engagement", postId, {
        event: { case: "unliked", value: { postId, postAuthorId: post.authorId, userId: me, likeCount: BigInt(likeCount) } },
      }),
    );
    return { postId, ...counts, liked: false };
  }

  async likers(postId: string, limit: number, after: LikerCursor | null, posts: VisiblePosts): Promise<LikerPage> {
    await posts.get(postId);
    return this.store.likers(postId, limit, after);
  }

  async addComment(me: string, postId: string, text: string, requestId: string, posts: VisiblePosts): Promise<CommentRecord> {
    const body = text.trim();
    if (body === "") throw invalidField("text", "must not be blank");
    const post = await posts.get(postId);
    const now = Date.now();
    const comment = { commentId: ids.next(now), postId, authorId: me, text: body, createTime: now, deleted: false };
    const saved = await this.store.addComment(comment, requestId, (c) =>
      encodeEvent("engagement", postId, {
        event: {
          case: "commented",
          value: { commentId: c.commentId, postId, postAuthorId: post.authorId, authorId: c.authorId, text: c.text },
        },
      }),
    );
    if (saved.deleted) throw notFound(`comment ${saved.commentId} of request ${requestId} (it was deleted since)`);
    return saved;
  }

  /**
   * Allowed to the comment's author (even when the post is no longer visible to them: their own
   * words are theirs to remove) and to the post's author. Others learn nothing: a post they cannot
   * see is NOT_FOUND whether the comment exists or not.
   */
  async deleteComment(me: string, postId: string, commentId: string, posts: VisiblePosts): Promise<void> {
    const comment = await this.store.comment(postId, commentId);
    if (comment?.authorId !== me) {
      const post = await posts.get(postId);
      if (!comment) throw notFound(`comment ${commentId}`);
      if (post.authorId !== me) throw permissionDenied("only the comment's author or the post's author can delete a comment");
    }
    await this.store.deleteComment(
      postId,
      commentId,
      encodeEvent("engagement", postId, { event: { case: "commentDeleted", value: { commentId, postId } } }),
    );
  }

  async comments(postId: string, limit: number, after: string | null, posts: VisiblePosts): Promise<CommentPage> {
    await posts.get(postId);
    return this.store.comments(postId, limit, after);
  }

  /**
   * The counters of each post asked for, in order. Posts the caller cannot see, deleted ones
   * included, get zero counters: nothing is revealed and nothing stale is served.
   */
  async counters(postIds: string[], viewer: string | null, posts: VisiblePosts): Promise<PostCounts[]> {
    const visible = await posts.visible(postIds);
    const counts = new Map((await this.store.counts([...visible], viewer)).map((c) => [c.postId, c]));
    return postIds.map((postId) => counts.get(postId) ?? { postId, likes: 0, comments: 0, liked: false });
  }

  /** A deleted post's likes and comments are dropped (PostDeleted on the "posts" topic). */
  dropPost(postId: string): Promise<void> {
    return this.store.dropPost(postId);
  }
}
