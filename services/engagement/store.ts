// The engagement service's storage port. Adapters: store.sqlite.ts (embedded), store.cassandra.ts.
// Every change is stored together with its event (the outbox), and every change is idempotent:
// liking twice counts once, deleting twice deletes once, a comment's request id adds it once.
import type { EncodedEvent } from "../platform/events.js";

export interface Counts {
  likes: number;
  comments: number;
}

/** A post's counts and whether the reading user likes it. */
export interface PostCounts extends Counts {
  postId: string;
  liked: boolean;
}

export interface Liker {
  userId: string;
  createTime: number;
}

/** Where a page of likers ends: the last entry's like time and user id (newest first). */
export interface LikerCursor {
  t: number;
  id: string;
}

export interface LikerPage {
  likers: Liker[];
  next: LikerCursor | null;
}

export interface CommentRecord {
  commentId: string;
  postId: string;
  authorId: string;
  /** Empty once the comment is deleted. */
  text: string;
  createTime: number;
  deleted: boolean;
}

export interface CommentPage {
  comments: CommentRecord[];
  /** The comment id to continue after (oldest first), or null at the end. */
  next: string | null;
}

export interface EngagementStore {
  /**
   * Makes the user like the post unless they do already. The like, the count and the event
   * (built from the like count after the change) are stored together. Returns the counts after.
   */
  like(postId: string, userId: string, now: number, event: (likeCount: number) => EncodedEvent): Promise<Counts>;
  /** Removes the user's like if there is one, with its event. Returns the counts after. */
  unlike(postId: string, userId: string, event: (likeCount: number) => EncodedEvent): Promise<Counts>;
  /** The users who like the post, most recent first. */
  likers(postId: string, limit: number, after: LikerCursor | null): Promise<LikerPage>;
  /**
   * Adds the comment and its event. With a request id already used by the same author on the
   * same post, adds nothing and returns the earlier comment (possibly deleted since).
   */
  addComment(comment: CommentRecord, requestId: string, event: (comment: CommentRecord) => EncodedEvent): Promise<CommentRecord>;
  /** A comment of the post, deleted or not. */
  comment(postId: string, commentId: string): Promise<CommentRecord | undefined>;
  /** Deletes the comment (keeping a marker) and appends the event, once. */
  deleteComment(postId: string, commentId: string, event: EncodedEvent): Promise<void>;
  /** The live comments of a post after the cursor (a comment id), oldest first. */
  comments(postId: string, limit: number, after: string | null): Promise<CommentPage>;
  /** The counts of these posts (in this order), and whether userId likes each. */
  counts(postIds: string[], userId: string | null): Promise<PostCounts[]>;
  /** The posts among these that userId likes. */
  likedBy(postIds: string[], userId: string): Promise<Set<string>>;
  /** Forgets everything about a deleted post. */
  dropPost(postId: string): Promise<void>;
}
