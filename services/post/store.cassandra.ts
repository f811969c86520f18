// PostStore on Cassandra/ScyllaDB: posts by id (hydration), each author's timeline in month
// partitions (bounded), request ids claimed with a transaction (idempotent CreatePost).
import { monthOf, monthOfId } from "../platform/buckets.js";
import type { CassandraDb, Row } from "../platform/cassandra.js";
import type { EncodedEvent } from "../platform/events.js";
import type { PostRecord, PostStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS post_posts (
     post_id bigint PRIMARY KEY, author_id bigint, caption text, hashtags list<text>, mentions list<text>, media text,
     create_time timestamp, update_time timestamp, deleted boolean);
   CREATE TABLE IF NOT EXISTS post_timeline (
     author_id bigint, month int, post_id bigint, PRIMARY KEY ((author_id, month), post_id)) WITH CLUSTERING ORDER BY (post_id DESC);
   CREATE TABLE IF NOT EXISTS post_timeline_months (author_id bigint, month int, PRIMARY KEY (author_id, month)) WITH CLUSTERING ORDER BY (month DESC);
   CREATE TABLE IF NOT EXISTS post_requests (author_id bigint, request_id text, post_id bigint, PRIMARY KEY ((author_id, request_id)));
   CREATE TABLE IF NOT EXISTS post_private_authors (user_id bigint PRIMARY KEY)`,
];

const COLUMNS = "post_id, author_id, caption, hashtags, mentions, media, create_time, update_time, deleted";
/** How long a request id protects against a duplicate create (clients retry within minutes). */
const REQUEST_TTL_SECONDS = 7 * 86400;

function toPost(r: Row): PostRecord {
  return {
    postId: r.post_id.toString(),
    authorId: r.author_id.toString(),
    caption: r.caption ?? "",
    hashtags: r.hashtags ?? [],
    mentions: r.mentions ?? [],
    media: JSON.parse(r.media ?? "[]"),
    createTime: r.create_time.getTime(),
    updateTime: r.update_time ? r.update_time.getTime() : 0,
    deleted: !!r.deleted,
  };
}

export class CassandraPostStore implements PostStore {
  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraPostStore> {
    await db.migrate("post", MIGRATIONS);
    return new CassandraPostStore(db);
  }

  async create(p: PostRecord, requestId: string, e: EncodedEvent): Promise<PostRecord> {
    const author = BigInt(p.authorId);
    if (requestId !== "") {
      const claim = await this.db.execute(
        "INSERT INTO post_requests (author_id, request_id, post_id) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?",
        [author, requestId, BigInt(p.postId), REQUEST_TTL_SECONDS],
      );
      if (!claim.wasApplied()) return this.earlier(claim.first()!.post_id.toString());
    }
    const month = monthOf(p.createTime);
    try {
      await this.db.batch([
        {
          query: `INSERT INTO post_posts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, false)`,
          params: [BigInt(p.postId), author, p.caption, p.hashtags, p.mentions, JSON.stringify(p.media), new Date(p.createTime), null],
        },
        { query: "INSERT INTO post_timeline (author_id, month, post_id) VALUES (?, ?, ?)", params: [author, month, BigInt(p.postId)] },
        { query: "INSERT INTO post_timeline_months (author_id, month) VALUES (?, ?)", params: [author, month] },
        this.db.outbox("post", e),
      ]);
    } catch (err) {
      if (requestId !== "") {
        await this.db
          .execute("DELETE FROM post_requests WHERE author_id = ? AND request_id = ? IF EXISTS", [author, requestId])
          .catch(() => undefined);
      }
      throw err;
    }
    return p;
  }

  /** The post of an earlier create with the same request id (it may still be being written). */
  private async earlier(postId: string): Promise<PostRecord> {
    for (let i = 0; i < 50; i++) {
      const post = await this.get(postId);
      if (post) return post;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the post ${postId} of an earlier request was not written`);
  }

  async get(postId: string): Promise<PostRecord | undefined> {
    const r = (await this.db.execute(`SELECT ${COLUMNS} FROM post_posts WHERE post_id = ?`, [BigInt(postId)])).first();
    return r ? toPost(r) : undefined;
  }

  /** One multi-partition IN per 100 posts, in the order asked. */
  async getMany(postIds: string[]): Promise<PostRecord[]> {
    const ids = [...new Set(postIds)];
    const found = new Map<string, PostRecord>();
    for (let i = 0; i < ids.length; i += 100) {
      const r = await this.db.execute(`SELECT ${COLUMNS} FROM post_posts WHERE post_id IN ?`, [ids.slice(i, i + 100).map(BigInt)]);
      for (const row of r.rows) found.set(row.post_id.toString(), toPost(row));
    }
    return postIds.flatMap((id) => {
      const p = found.get(id);
      return p && !p.deleted ? [p] : [];
    });
  }

  async listByAuthor(authorId: string, limit: number, before: string | null): Promise<PostRecord[]> {
    return this.getMany(await this.listIdsByAuthor(authorId, limit, before));
  }

  async listIdsByAuthor(authorId: string, limit: number, before: string | null): Promise<string[]> {
    const author = BigInt(authorId);
    const months = (await this.db.execute("SELECT month FROM post_timeline_months WHERE author_id = ?", [author])).rows.map(
      (r) => r.month as number,
    );
    const start = before ? monthOfId(before) : Number.MAX_SAFE_INTEGER;
    const ids: string[] = [];
    for (const month of months.filter((m) => m <= start)) {
      const rows = (
        await this.db.execute("SELECT post_id FROM post_timeline WHERE author_id = ? AND month = ? AND post_id < ? LIMIT ?", [
          author,
          month,
          before ? BigInt(before) : 9223372036854775807n,
          limit - ids.length,
        ])
      ).rows;
      ids.push(...rows.map((r) => r.post_id.toString()));
      if (ids.length >= limit) break;
    }
    return ids;
  }

  async update(postId: string, caption: string, hashtags: string[], mentions: string[], now: number, e: EncodedEvent): Promise<void> {
    await this.db.batch([
      {
        query: "UPDATE post_posts SET caption = ?, hashtags = ?, mentions = ?, update_time = ? WHERE post_id = ?",
        params: [caption, hashtags, mentions, new Date(now), BigInt(postId)],
      },
      this.db.outbox("post", e),
    ]);
  }

  async markDeleted(postId: string, e: EncodedEvent): Promise<void> {
    const r = await this.db.execute("UPDATE post_posts SET deleted = true WHERE post_id = ? IF deleted = false", [BigInt(postId)]);
    if (!r.wasApplied()) return; // already deleted: nothing more to do
    const post = (await this.get(postId))!;
    await this.db.batch([
      {
        query: "DELETE FROM post_timeline WHERE author_id = ? AND month = ? AND post_id = ?",
        params: [BigInt(post.authorId), monthOf(post.createTime), BigInt(postId)],
      },
      this.db.outbox("post", e),
    ]);
  }

  async setAuthorPrivate(userId: string, isPrivate: boolean): Promise<void> {
    await this.db.execute(
      isPrivate ? "INSERT INTO post_private_authors (user_id) VALUES (?)" : "DELETE FROM post_private_authors WHERE user_id = ?",
      [BigInt(userId)],
    );
  }

  async privateAuthors(authorIds: string[]): Promise<Set<string>> {
    // One multi-partition IN per 100 authors rather than a query each (the driver's CPU per query
    // is what a read pays for; docs/benchmarks.md).
    const ids = [...new Set(authorIds)];
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 100) {
      const r = await this.db.execute("SELECT user_id FROM post_private_authors WHERE user_id IN ?", [ids.slice(i, i + 100).map(BigInt)]);
      for (const row of r.rows) found.add(row.user_id.toString());
    }
    return found;
  }
}
