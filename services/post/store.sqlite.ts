// PostStore on the embedded SQLite database.
import type { EncodedEvent } from "../platform/events.js";
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import type { PostRecord, PostStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE post_posts (
     post_id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, caption TEXT NOT NULL,
     hashtags TEXT NOT NULL, mentions TEXT NOT NULL, media TEXT NOT NULL,
     create_time INTEGER NOT NULL, update_time INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
     request_id TEXT);
   CREATE UNIQUE INDEX post_posts_request ON post_posts (author_id, request_id) WHERE request_id IS NOT NULL;
   CREATE INDEX post_posts_author ON post_posts (author_id, post_id DESC) WHERE deleted = 0;
   CREATE TABLE post_private_authors (user_id INTEGER PRIMARY KEY);`,
];

const COLUMNS = "post_id, author_id, caption, hashtags, mentions, media, create_time, update_time, deleted";

function toPost(r: Row): PostRecord {
  return {
    postId: col.id(r.post_id),
    authorId: col.id(r.author_id),
    caption: col.str(r.caption),
    hashtags: JSON.parse(col.str(r.hashtags)),
    mentions: JSON.parse(col.str(r.mentions)),
    media: JSON.parse(col.str(r.media)),
    createTime: col.num(r.create_time),
    updateTime: col.num(r.update_time),
    deleted: col.bool(r.deleted),
  };
}

export class SqlitePostStore implements PostStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("post", MIGRATIONS);
  }

  async create(p: PostRecord, requestId: string, e: EncodedEvent): Promise<PostRecord> {
    return this.db.tx(() => {
      if (requestId !== "") {
        const earlier = this.db.get(
          `SELECT ${COLUMNS} FROM post_posts WHERE author_id = ? AND request_id = ?`,
          BigInt(p.authorId),
          requestId,
        );
        if (earlier) return toPost(earlier);
      }
      this.db.run(
        `INSERT INTO post_posts (${COLUMNS}, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
        BigInt(p.postId),
        BigInt(p.authorId),
        p.caption,
        JSON.stringify(p.hashtags),
        JSON.stringify(p.mentions),
        JSON.stringify(p.media),
        p.createTime,
        p.updateTime,
        requestId === "" ? null : requestId,
      );
      this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
      return p;
    });
  }

  async get(postId: string): Promise<PostRecord | undefined> {
    const r = this.db.get(`SELECT ${COLUMNS} FROM post_posts WHERE post_id = ?`, BigInt(postId));
    return r && toPost(r);
  }

  async getMany(postIds: string[]): Promise<PostRecord[]> {
    if (postIds.length === 0) return [];
    return this.db
      .all(`SELECT ${COLUMNS} FROM post_posts WHERE deleted = 0 AND post_id IN ${ID_LIST}`, JSON.stringify(postIds))
      .map(toPost);
  }

  async listByAuthor(authorId: string, limit: number, before: string | null): Promise<PostRecord[]> {
    return this.db
      .all(
        `SELECT ${COLUMNS} FROM post_posts WHERE author_id = ? AND deleted = 0 AND post_id < ? ORDER BY post_id DESC LIMIT ?`,
        BigInt(authorId),
        BigInt(before ?? "9223372036854775807"),
        limit,
      )
      .map(toPost);
  }

  async listIdsByAuthor(authorId: string, limit: number, before: string | null): Promise<string[]> {
    return (await this.listByAuthor(authorId, limit, before)).map((p) => p.postId);
  }

  async update(postId: string, caption: string, hashtags: string[], mentions: string[], now: number, e: EncodedEvent): Promise<void> {
    this.db.tx(() => {
      this.db.run(
        "UPDATE post_posts SET caption = ?, hashtags = ?, mentions = ?, update_time = ? WHERE post_id = ?",
        caption,
        JSON.stringify(hashtags),
        JSON.stringify(mentions),
        now,
        BigInt(postId),
      );
      this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
    });
  }

  async markDeleted(postId: string, e: EncodedEvent): Promise<void> {
    this.db.tx(() => {
      if (this.db.run("UPDATE post_posts SET deleted = 1 WHERE post_id = ? AND deleted = 0", BigInt(postId)).changes === 1) {
        this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
      }
    });
  }

  async setAuthorPrivate(userId: string, isPrivate: boolean): Promise<void> {
    this.db.run(
      isPrivate ? "INSERT OR IGNORE INTO post_private_authors (user_id) VALUES (?)" : "DELETE FROM post_private_authors WHERE user_id = ?",
      BigInt(userId),
    );
  }

  async privateAuthors(authorIds: string[]): Promise<Set<string>> {
    if (authorIds.length === 0) return new Set();
    const rows = this.db.all(`SELECT user_id FROM post_private_authors WHERE user_id IN ${ID_LIST}`, JSON.stringify(authorIds));
    return new Set(rows.map((r) => col.id(r.user_id)));
  }
}
