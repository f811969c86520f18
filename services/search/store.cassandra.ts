// SearchStore on Cassandra/ScyllaDB with our own index tables (no secondary or SAI indexes, so it
// runs on ScyllaDB as is). Posts: an inverted index, term → post ids newest first in month
// partitions; a query with several terms intersects their postings by leapfrogging (each list
// seeks to the largest id not above the current candidate), so a rare term skips through a
// common one. Users: every prefix (up to PREFIX_MAX characters) of the username and of the
// display name → users by username; short prefixes are spread over a few buckets.
import { monthOfId } from "../platform/buckets.js";
import { type CassandraDb, shardOf } from "../platform/cassandra.js";
import type { IndexedUser, PostHits, SearchStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS search_posts (post_id bigint PRIMARY KEY, terms set<text>, removed boolean, like_count bigint);
   CREATE TABLE IF NOT EXISTS search_postings (
     term text, month int, post_id bigint, PRIMARY KEY ((term, month), post_id)) WITH CLUSTERING ORDER BY (post_id DESC);
   CREATE TABLE IF NOT EXISTS search_term_months (term text, month int, PRIMARY KEY (term, month)) WITH CLUSTERING ORDER BY (month DESC);
   CREATE TABLE IF NOT EXISTS search_users (user_id bigint PRIMARY KEY, username text, display_key text);
   CREATE TABLE IF NOT EXISTS search_user_prefixes (
     prefix text, bucket int, username text, user_id bigint, display_key text,
     PRIMARY KEY ((prefix, bucket), username))`,
];

const MAX_ID = 9223372036854775807n;
/** Postings read per query. */
const CHUNK = 500;
/** Queries one findPosts may run before it returns what it has, with a cursor. */
const QUERY_BUDGET = 100;
/** Prefixes are indexed up to this many characters; longer queries filter that partition. */
export const PREFIX_MAX = 12;

/** How many partitions the users under a prefix of this length are spread over. */
function bucketsFor(length: number): number {
  return length === 1 ? 16 : length === 2 ? 4 : 1;
}

function prefixes(key: string): string[] {
  const chars = Array.from(key);
  return Array.from({ length: Math.min(chars.length, PREFIX_MAX) }, (_, i) => chars.slice(0, i + 1).join(""));
}

/** One term's postings, read newest first in chunks, able to skip ahead. */
class Postings {
  private buffer: bigint[] = [];
  private pos = 0;
  /** The index in months of the partition to read next; the one the buffer came from is done if it was short. */
  private monthIndex = 0;

  constructor(
    private readonly db: CassandraDb,
    private readonly term: string,
    private readonly months: number[],
    private readonly spend: () => void,
  ) {}

  /** The largest posting not above x, or null when there is none. */
  async seek(x: bigint): Promise<bigint | null> {
    for (;;) {
      while (this.pos < this.buffer.length && this.buffer[this.pos]! > x) this.pos++;
      if (this.pos < this.buffer.length) return this.buffer[this.pos]!;
      const month = monthOfId(x.toString());
      while (this.monthIndex < this.months.length && this.months[this.monthIndex]! > month) this.monthIndex++;
      if (this.monthIndex >= this.months.length) return null;
      this.spend();
      const rows = (
        await this.db.execute("SELECT post_id FROM search_postings WHERE term = ? AND month = ? AND post_id <= ? LIMIT ?", [
          this.term,
          this.months[this.monthIndex],
          x,
          CHUNK,
        ])
      ).rows;
      this.buffer = rows.map((r) => r.post_id as bigint);
      this.pos = 0;
      if (rows.length < CHUNK) this.monthIndex++; // nothing at or below x is left in that month after these
    }
  }
}

export class CassandraSearchStore implements SearchStore {
  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraSearchStore> {
    await db.migrate("search", MIGRATIONS);
    return new CassandraSearchStore(db);
  }

  async indexPost(postId: string, terms: string[]): Promise<void> {
    const [id, month] = [BigInt(postId), monthOfId(postId)];
    const old = (await this.db.execute("SELECT terms, removed FROM search_posts WHERE post_id = ?", [id])).first();
    if (old?.removed) return;
    const keep = new Set(terms);
    // The postings first and the record last: a redelivery after a failure finds the old terms again.
    await this.db.concurrent(
      "INSERT INTO search_postings (term, month, post_id) VALUES (?, ?, ?)",
      terms.map((t) => [t, month, id]),
    );
    await this.db.concurrent(
      "INSERT INTO search_term_months (term, month) VALUES (?, ?)",
      terms.map((t) => [t, month]),
    );
    await this.db.concurrent(
      "DELETE FROM search_postings WHERE term = ? AND month = ? AND post_id = ?",
      ((old?.terms ?? []) as string[]).filter((t) => !keep.has(t)).map((t) => [t, month, id]),
    );
    await this.db.execute("UPDATE search_posts SET terms = ? WHERE post_id = ?", [terms, id]);
  }

  async removePost(postId: string): Promise<void> {
    const [id, month] = [BigInt(postId), monthOfId(postId)];
    await this.db.execute("UPDATE search_posts SET removed = true WHERE post_id = ?", [id]);
    const terms = ((await this.db.execute("SELECT terms FROM search_posts WHERE post_id = ?", [id])).first()?.terms ?? []) as string[];
    await this.db.concurrent(
      "DELETE FROM search_postings WHERE term = ? AND month = ? AND post_id = ?",
      terms.map((t) => [t, month, id]),
    );
  }

  async findPosts(terms: string[], limit: number, before: string | null): Promise<PostHits> {
    const months = await Promise.all(
      terms.map(async (t) =>
        (await this.db.execute("SELECT month FROM search_term_months WHERE term = ?", [t])).rows.map((r) => r.month as number),
      ),
    );
    if (months.some((m) => m.length === 0)) return { ids: [], next: null };
    let spent = 0;
    const lists = terms.map((t, i) => new Postings(this.db, t, months[i]!, () => spent++));
    const found: bigint[] = [];
    let candidate = before ? BigInt(before) - 1n : MAX_ID;
    // Leapfrog: every list in turn seeks to the largest id not above the candidate; when all of
    // them agree, the candidate is a match. One match past the page tells whether more exist.
    let agreed = 0;
    for (let i = 0; found.length <= limit; i = (i + 1) % lists.length) {
      if (spent >= QUERY_BUDGET) return { ids: found.map(String), next: (candidate + 1n).toString() }; // nothing above the candidate is left
      const got = await lists[i]!.seek(candidate);
      if (got === null) break;
      if (got === candidate) agreed++;
      else [candidate, agreed] = [got, 1];
      if (agreed === lists.length) {
        found.push(candidate);
        [candidate, agreed] = [candidate - 1n, 0];
      }
    }
    const ids = found.slice(0, limit).map(String);
    return { ids, next: found.length > limit ? ids.at(-1)! : null };
  }

  async setLikeCount(postId: string, likes: number): Promise<void> {
    await this.db.execute("UPDATE search_posts SET like_count = ? WHERE post_id = ?", [BigInt(likes), BigInt(postId)]);
  }

  async likeCounts(postIds: string[]): Promise<Map<string, number>> {
    const rows = await Promise.all(
      postIds.map(
        async (id) => [id, (await this.db.execute("SELECT like_count FROM search_posts WHERE post_id = ?", [BigInt(id)])).first()] as const,
      ),
    );
    return new Map(rows.map(([id, r]) => [id, Number(r?.like_count ?? 0)]));
  }

  async indexUser(u: IndexedUser): Promise<void> {
    const id = BigInt(u.userId);
    const old = (await this.db.execute("SELECT username, display_key FROM search_users WHERE user_id = ?", [id])).first();
    const now = new Set([...prefixes(u.username), ...prefixes(u.displayKey)]);
    const before = old ? new Set([...prefixes(old.username), ...prefixes(old.display_key)]) : new Set<string>();
    const where = (p: string) => [p, shardOf(u.userId) % bucketsFor(Array.from(p).length)];
    await this.db.concurrent(
      "INSERT INTO search_user_prefixes (prefix, bucket, username, user_id, display_key) VALUES (?, ?, ?, ?, ?)",
      [...now].map((p) => [...where(p), u.username, id, u.displayKey]),
    );
    await this.db.concurrent(
      "DELETE FROM search_user_prefixes WHERE prefix = ? AND bucket = ? AND username = ?",
      [...before].filter((p) => !now.has(p)).map((p) => [...where(p), old!.username]),
    );
    await this.db.execute("INSERT INTO search_users (user_id, username, display_key) VALUES (?, ?, ?)", [id, u.username, u.displayKey]);
  }

  async findUsers(prefix: string, limit: number, after: string | null): Promise<IndexedUser[]> {
    const chars = Array.from(prefix);
    const partition = chars.slice(0, PREFIX_MAX).join("");
    const query = "SELECT username, user_id, display_key FROM search_user_prefixes WHERE prefix = ? AND bucket = ? AND username > ?";
    const toUser = (r: { username: string; user_id: bigint; display_key: string }) => ({
      userId: r.user_id.toString(),
      username: r.username,
      displayKey: r.display_key,
    });
    if (chars.length > PREFIX_MAX) {
      // Longer than what is indexed: read that prefix's partition, keep the users that match in full.
      const out: IndexedUser[] = [];
      for await (const r of this.db.rows(query, [partition, 0, after ?? ""], Math.max(limit * 2, 50))) {
        const u = toUser(r as never);
        if (u.username.startsWith(prefix) || u.displayKey.startsWith(prefix)) out.push(u);
        if (out.length >= limit) break;
      }
      return out;
    }
    const buckets = await Promise.all(
      Array.from({ length: bucketsFor(chars.length) }, async (_, b) =>
        (await this.db.execute(`${query} LIMIT ?`, [partition, b, after ?? "", limit])).rows.map((r) => toUser(r as never)),
      ),
    );
    return buckets
      .flat()
      .sort((a, b) => (a.username < b.username ? -1 : 1))
      .slice(0, limit);
  }
}
