// The post service's storage port. Adapters: store.sqlite.ts (embedded).
import type { EncodedEvent } from "../platform/events.js";

export interface MediaRefRecord {
  mediaId: string;
  kind: number;
  contentType: string;
}

export interface PostRecord {
  postId: string;
  authorId: string;
  caption: string;
  hashtags: string[];
  mentions: string[];
  media: MediaRefRecord[];
  createTime: number;
  updateTime: number;
  deleted: boolean;
}

export interface PostStore {
  /**
   * Stores the post and its event atomically. With a request id already used by the author,
   * stores nothing and returns the earlier post instead.
   */
  create(post: PostRecord, requestId: string, event: EncodedEvent): Promise<PostRecord>;
  /** A post, deleted or not. */
  get(postId: string): Promise<PostRecord | undefined>;
  /** Live (not deleted) posts among the ids. */
  getMany(postIds: string[]): Promise<PostRecord[]>;
  /** An author's live posts older than the cursor (a post id), newest first. */
  listByAuthor(authorId: string, limit: number, before: string | null): Promise<PostRecord[]>;
  /** The ids of an author's posts older than the cursor, newest first (deleted ones may be among them). */
  listIdsByAuthor(authorId: string, limit: number, before: string | null): Promise<string[]>;
  update(postId: string, caption: string, hashtags: string[], mentions: string[], now: number, event: EncodedEvent): Promise<void>;
  markDeleted(postId: string, event: EncodedEvent): Promise<void>;
  /** Authors whose accounts are private (kept from the graph's privacy events). */
  setAuthorPrivate(userId: string, isPrivate: boolean): Promise<void>;
  privateAuthors(authorIds: string[]): Promise<Set<string>>;
}
