// EngagementStore on the embedded SQLite database: one transaction holds a change, its count and
// its event, so the counts are exact by construction.
import type { EncodedEvent } from "../platform/events.js";
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import type { CommentPage, CommentRecord, Counts, EngagementStore, LikerCursor, LikerPage, PostCounts } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE engagement_likes (
     post_id INTEGER NOT NULL, user_id INTEGER NOT NULL, create_time INTEGER NOT NULL,
     PRIMARY KEY (post_id, user_id)) WITHOUT ROWID;
   CREATE INDEX engagement_likes_recent ON engagement_likes (post_id, create_time DESC, user_id DESC);
   CREATE TABLE engagement_comments (
     comment_id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, author_id INTEGER NOT NULL, text TEXT NOT NULL,
     create_time INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, request_id TEXT);
   CREATE UNIQUE INDEX engagement_comments_request ON engagement_comments (post_id, author_id, request_id) WHERE request_id IS NOT NULL;
   CREATE INDEX engagement_comments_post ON engagement_comments (post_id, comment_id) WHERE deleted = 0;
   CREATE TABLE engagement_counts (post_id INTEGER PRIMARY KEY, likes INTEGER NOT NULL DEFAULT 0, comments INTEGER NOT NULL DEFAULT 0);`,
];

const COMMENT_COLUMNS = "comment_id, post_id, author_id, text, create_time, deleted";
const MAX_ID = "9223372036854775807";

function toComment(r: Row): CommentRecord {
  return {
    commentId: col.id(r.comment_id),
    postId: col.id(r.post_id),
    authorId: col.id(r.author_id),
    text: col.str(r.text),
    createTime: col.num(r.create_time),
    deleted: col.bool(r.deleted),
  };
}

export class SqliteEngagementStore implements EngagementStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("engagement", MIGRATIONS);
  }

  async like(postId: string, userId: string, now: number, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    return this.db.tx(() => {
      const added = this.db.run(
        "INSERT OR IGNORE INTO engagement_likes (post_id, user_id, create_time) VALUES (?, ?, ?)",
        BigInt(postId),
        BigInt(userId),
        now,
      ).changes;
      if (added === 1) this.append(event(this.bump(postId, "likes", 1).likes));
      return this.countsOf(postId);
    });
  }

  async unlike(postId: string, userId: string, event: (likeCount: number) => EncodedEvent): Promise<Counts> {
    return this.db.tx(() => {
      const removed = this.db.run("DELETE FROM engagement_likes WHERE post_id = ? AND user_id = ?", BigInt(postId), BigInt(userId)).changes;
      if (removed === 1) this.append(event(this.bump(postId, "likes", -1).likes));
      return this.countsOf(postId);
    });
  }

  async likers(postId: string, limit: number, after: LikerCursor | null): Promise<LikerPage> {
    const rows = this.db.all(
      `SELECT user_id, create_time FROM engagement_likes WHERE post_id = ? AND (create_time, user_id) < (?, ?)
       ORDER BY create_time DESC, user_id DESC LIMIT ?`,
      BigInt(postId),
      after?.t ?? Number.MAX_SAFE_INTEGER,
      BigInt(after?.id ?? MAX_ID),
      limit + 1,
    );
    const likers = rows.slice(0, limit).map((r) => ({ userId: col.id(r.user_id), createTime: col.num(r.create_time) }));
    const last = likers.at(-1);
    return { likers, next: rows.length > limit && last ? { t: last.createTime, id: last.userId } : null };
  }

  async addComment(c: CommentRecord, requestId: string, event: (comment: CommentRecord) => EncodedEvent): Promise<CommentRecord> {
    return this.db.tx(() => {
      if (requestId !== "") {
        const earlier = this.db.get(
          `SELECT ${COMMENT_COLUMNS} FROM engagement_comments WHERE post_id = ? AND author_id = ? AND request_id = ?`,
          BigInt(c.postId),
          BigInt(c.authorId),
          requestId,
        );
        if (earlier) return toComment(earlier);
      }
      this.db.run(
        `INSERT INTO engagement_comments (${COMMENT_COLUMNS}, request_id) VALUES (?, ?, ?, ?, ?, 0, ?)`,
        BigInt(c.commentId),
        BigInt(c.postId),
        BigInt(c.authorId),
        c.text,
        c.createTime,
        requestId === "" ? null : requestId,
      );
      this.bump(c.postId, "comments", 1);
      this.append(event(c));
      return c;
    });
  }

  async comment(postId: string, commentId: string): Promise<CommentRecord | undefined> {
    const r = this.db.get(
      `SELECT ${COMMENT_COLUMNS} FROM engagement_comments WHERE comment_id = ? AND post_id = ?`,
      BigInt(commentId),
      BigInt(postId),
    );
    return r && toComment(r);
  }

  async deleteComment(postId: string, commentId: string, event: EncodedEvent): Promise<void> {
    this.db.tx(() => {
      const changed = this.db.run(
        "UPDATE engagement_comments SET deleted = 1, text = '' WHERE comment_id = ? AND post_id = ? AND deleted = 0",
        BigInt(commentId),
        BigInt(postId),
      ).changes;
      if (changed === 0) return;
      this.bump(postId, "comments", -1);
      this.append(event);
    });
  }

  async comments(postId: string, limit: number, after: string | null): Promise<CommentPage> {
    const rows = this.db.all(
      `SELECT ${COMMENT_COLUMNS} FROM engagement_comments WHERE post_id = ? AND deleted = 0 AND comment_id > ?
       ORDER BY comment_id LIMIT ?`,
      BigInt(postId),
      BigInt(after ?? "0"),
      limit + 1,
    );
    const comments = rows.slice(0, limit).map(toComment);
    return { comments, next: rows.length > limit ? (comments.at(-1)?.commentId ?? null) : null };
  }

  async counts(postIds: string[], userId: string | null): Promise<PostCounts[]> {
    if (postIds.length === 0) return [];
    const counts = new Map(
      this.db
        .all(`SELECT post_id, likes, comments FROM engagement_counts WHERE post_id IN ${ID_LIST}`, JSON.stringify(postIds))
        .map((r) => [col.id(r.post_id), { likes: col.num(r.likes), comments: col.num(r.comments) }]),
    );
    const liked = userId === null ? new Set<string>() : await this.likedBy(postIds, userId);
    return postIds.map((postId) => ({ postId, likes: 0, comments: 0, ...counts.get(postId), liked: liked.has(postId) }));
  }

  async likedBy(postIds: string[], userId: string): Promise<Set<string>> {
    if (postIds.length === 0) return new Set();
    return new Set(
      this.db
        .all(`SELECT post_id FROM engagement_likes WHERE user_id = ? AND post_id IN ${ID_LIST}`, BigInt(userId), JSON.stringify(postIds))
        .map((r) => col.id(r.post_id)),
    );
  }

  async dropPost(postId: string): Promise<void> {
    this.db.tx(() => {
      for (const table of ["engagement_likes", "engagement_comments", "engagement_counts"]) {
        this.db.run(`DELETE FROM ${table} WHERE post_id = ?`, BigInt(postId));
      }
    });
  }

  /** Adjusts one count of a post; returns the counts after. */
  private bump(postId: string, column: "likes" | "comments", delta: number): Counts {
    this.db.run(
      `INSERT INTO engagement_counts (post_id, ${column}) VALUES (?, max(?, 0))
       ON CONFLICT (post_id) DO UPDATE SET ${column} = max(${column} + ?, 0)`,
      BigInt(postId),
      delta,
      delta,
    );
    return this.countsOf(postId);
  }

  private countsOf(postId: string): Counts {
    const r = this.db.get("SELECT likes, comments FROM engagement_counts WHERE post_id = ?", BigInt(postId));
    return { likes: col.num(r?.likes), comments: col.num(r?.comments) };
  }

  private append(e: EncodedEvent): void {
    this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
  }
}
