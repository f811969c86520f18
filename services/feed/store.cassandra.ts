// FeedStore on Cassandra/ScyllaDB: each reader's feed in month partitions (bounded), newest
// first, one row per entry: a fan-out writes one single-partition insert per reader, many
// concurrently. An unfollow scans the reader's recent months for the author's entries (an
// unfollow is rare, a fan-out is not); older ones stay, hidden by the read path.
import { monthOf, monthOfId } from "../platform/buckets.js";
import type { CassandraDb } from "../platform/cassandra.js";
import { type FeedEntry, type FeedStore, UNFOLLOW_CLEANUP_MS } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS feed_entries (
     reader_id bigint, month int, post_id bigint, author_id bigint,
     PRIMARY KEY ((reader_id, month), post_id)) WITH CLUSTERING ORDER BY (post_id DESC);
   CREATE TABLE IF NOT EXISTS feed_months (reader_id bigint, month int, PRIMARY KEY (reader_id, month)) WITH CLUSTERING ORDER BY (month DESC);
   CREATE TABLE IF NOT EXISTS feed_by_author (reader_id bigint, author_id bigint, post_id bigint, PRIMARY KEY ((reader_id, author_id), post_id))`,
  // feed_by_author (a by-author index, one more insert per entry) is no longer written or read.
];

const INSERT_ENTRY = "INSERT INTO feed_entries (reader_id, month, post_id, author_id) VALUES (?, ?, ?, ?)";
const INSERT_MONTH = "INSERT INTO feed_months (reader_id, month) VALUES (?, ?)";
/** How many (reader, month) rows this process remembers having written (about 10 MB). */
const KNOWN_MONTHS_MAX = 100_000;

export class CassandraFeedStore implements FeedStore {
  /**
   * The feed_months rows this process wrote: they are never deleted, so a fan-out writes a
   * reader's month row once per process rather than once per entry.
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
    const [month, post] = [monthOfId(e.postId), BigInt(e.postId)];
    await this.db.concurrent(
      "DELETE FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?",
      readerIds.map((r) => [BigInt(r), month, post]),
    );
  }

  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    const [reader, author] = [BigInt(readerId), BigInt(authorId)];
    const months = (
      await this.db.execute("SELECT month FROM feed_months WHERE reader_id = ? AND month >= ?", [
        reader,
        monthOf(Date.now() - UNFOLLOW_CLEANUP_MS),
      ])
    ).rows;
    for (const { month } of months) {
      const deletes: unknown[][] = [];
      for await (const r of this.db.rows("SELECT post_id, author_id FROM feed_entries WHERE reader_id = ? AND month = ?", [
        reader,
        month,
      ])) {
        if (r.author_id === author) deletes.push([reader, month, r.post_id]);
      }
      await this.db.concurrent("DELETE FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?", deletes);
    }
  }

  private async insert(pairs: [string, FeedEntry][]): Promise<void> {
    const entries: unknown[][] = [];
    const months = new Map<string, [bigint, number]>();
    for (const [r, e] of pairs) {
      const [reader, month] = [BigInt(r), monthOfId(e.postId)];
      entries.push([reader, month, BigInt(e.postId), BigInt(e.authorId)]);
      const key = `${r}:${month}`;
      if (!this.knownMonths.has(key)) months.set(key, [reader, month]);
    }
    // The month rows first: a page finds an entry through its month.
    await this.db.concurrent(INSERT_MONTH, [...months.values()]);
    for (const key of months.keys()) {
      if (this.knownMonths.size >= KNOWN_MONTHS_MAX) this.knownMonths.delete(this.knownMonths.values().next().value!);
      this.knownMonths.add(key);
    }
    await this.db.concurrent(INSERT_ENTRY, entries);
  }
}
