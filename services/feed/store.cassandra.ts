// FeedStore on Cassandra/ScyllaDB: each reader's feed in month partitions (bounded), newest
// first; beside it, in a table with the same partition key, a by-author index so an unfollow can
// take one author's posts out. A fan-out writes both rows of a reader as one unlogged batch of one
// partition key (one request, one mutation on the replicas), many readers concurrently.
import { monthOfId } from "../platform/buckets.js";
import type { CassandraDb, Statement } from "../platform/cassandra.js";
import type { FeedEntry, FeedStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS feed_entries (
     reader_id bigint, month int, post_id bigint, author_id bigint,
     PRIMARY KEY ((reader_id, month), post_id)) WITH CLUSTERING ORDER BY (post_id DESC);
   CREATE TABLE IF NOT EXISTS feed_months (reader_id bigint, month int, PRIMARY KEY (reader_id, month)) WITH CLUSTERING ORDER BY (month DESC);
   CREATE TABLE IF NOT EXISTS feed_by_author (reader_id bigint, author_id bigint, post_id bigint, PRIMARY KEY ((reader_id, author_id), post_id))`,
  // The by-author index moves into the entries' partitions, so both rows of an entry are written
  // together. feed_by_author is no longer written; an unfollow still clears what it holds.
  `CREATE TABLE IF NOT EXISTS feed_by_author_month (
     reader_id bigint, month int, author_id bigint, post_id bigint, PRIMARY KEY ((reader_id, month), author_id, post_id))`,
];

const INSERT_ENTRY = "INSERT INTO feed_entries (reader_id, month, post_id, author_id) VALUES (?, ?, ?, ?)";
const INSERT_BY_AUTHOR = "INSERT INTO feed_by_author_month (reader_id, month, author_id, post_id) VALUES (?, ?, ?, ?)";
const INSERT_MONTH = "INSERT INTO feed_months (reader_id, month) VALUES (?, ?)";
/** How many (reader, month) rows this process remembers having written (about 10 MB). */
const KNOWN_MONTHS_MAX = 100_000;

export class CassandraFeedStore implements FeedStore {
  /**
   * The feed_months rows this process wrote: they are never deleted, so a fan-out writes a
   * reader's month row once per process rather than once per entry (a third of its inserts).
   */
  private readonly knownMonths = new Set<string>();

  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraFeedStore> {
    await db.migrate("feed", MIGRATIONS);
    return new CassandraFeedStore(db);
  }

  async add(readerIds: string[], e: FeedEntry): Promise<void> {
    await this.insert(readerIds.map((r) => [r, e]));
  }

  async addMany(readerId: string, entries: FeedEntry[]): Promise<void> {
    await this.insert(entries.map((e) => [readerId, e]));
  }

  async page(readerId: string, limit: number, before: string | null): Promise<FeedEntry[]> {
    const reader = BigInt(readerId);
    const start = before ? monthOfId(before) : Number.MAX_SAFE_INTEGER;
    const months = (
      await this.db.execute("SELECT month FROM feed_months WHERE reader_id = ? AND month <= ?", [reader, Math.min(start, 999999)])
    ).rows;
    const out: FeedEntry[] = [];
    for (const { month } of months) {
      const rows = (
        await this.db.execute("SELECT post_id, author_id FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id < ? LIMIT ?", [
          reader,
          month,
          before ? BigInt(before) : 9223372036854775807n,
          limit - out.length,
        ])
      ).rows;
      out.push(...rows.map((r) => ({ postId: r.post_id.toString(), authorId: r.author_id.toString() })));
      if (out.length >= limit) break;
    }
    return out;
  }

  async remove(readerIds: string[], e: FeedEntry): Promise<void> {
    const month = monthOfId(e.postId);
    const [post, author] = [BigInt(e.postId), BigInt(e.authorId)];
    await this.db.concurrentBatches(
      readerIds.map((r) => [
        { query: "DELETE FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?", params: [BigInt(r), month, post] },
        {
          query: "DELETE FROM feed_by_author_month WHERE reader_id = ? AND month = ? AND author_id = ? AND post_id = ?",
          params: [BigInt(r), month, author, post],
        },
      ]),
    );
  }

  /** One query per month of the reader's feed (an unfollow is rare; a fan-out is not). */
  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    const [reader, author] = [BigInt(readerId), BigInt(authorId)];
    const months = (await this.db.execute("SELECT month FROM feed_months WHERE reader_id = ?", [reader])).rows.map(
      (r) => r.month as number,
    );
    for (const month of months) {
      const rows = (
        await this.db.execute("SELECT post_id FROM feed_by_author_month WHERE reader_id = ? AND month = ? AND author_id = ?", [
          reader,
          month,
          author,
        ])
      ).rows;
      await this.db.concurrent(
        "DELETE FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?",
        rows.map((r) => [reader, month, r.post_id]),
      );
      await this.db.execute("DELETE FROM feed_by_author_month WHERE reader_id = ? AND month = ? AND author_id = ?", [
        reader,
        month,
        author,
      ]);
    }
    // Rows of the former index (written before migration 2).
    const legacy: unknown[][] = [];
    for await (const r of this.db.rows("SELECT post_id FROM feed_by_author WHERE reader_id = ? AND author_id = ?", [reader, author])) {
      legacy.push([reader, monthOfId(r.post_id.toString()), r.post_id]);
    }
    await this.db.concurrent("DELETE FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?", legacy);
    if (legacy.length > 0) await this.db.execute("DELETE FROM feed_by_author WHERE reader_id = ? AND author_id = ?", [reader, author]);
  }

  private async insert(pairs: [string, FeedEntry][]): Promise<void> {
    const batches: Statement[][] = [];
    const months = new Map<string, [bigint, number]>();
    for (const [r, e] of pairs) {
      const [reader, month, post, author] = [BigInt(r), monthOfId(e.postId), BigInt(e.postId), BigInt(e.authorId)];
      batches.push([
        { query: INSERT_ENTRY, params: [reader, month, post, author] },
        { query: INSERT_BY_AUTHOR, params: [reader, month, author, post] },
      ]);
      const key = `${r}:${month}`;
      if (!this.knownMonths.has(key)) months.set(key, [reader, month]);
    }
    // The month rows first: a page finds an entry through its month.
    await this.db.concurrent(INSERT_MONTH, [...months.values()]);
    for (const key of months.keys()) {
      if (this.knownMonths.size >= KNOWN_MONTHS_MAX) this.knownMonths.delete(this.knownMonths.values().next().value!);
      this.knownMonths.add(key);
    }
    await this.db.concurrentBatches(batches);
  }
}
