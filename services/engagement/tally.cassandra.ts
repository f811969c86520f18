// Exact counted sets on Cassandra/ScyllaDB, without counter columns. A post's likes (one row per
// user) and comments (one row per comment) are rows of engagement_tally, spread over SHARDS
// partitions ((post_id, shard)); each partition keeps its own counts in static columns. A row
// and its partition's count change in ONE conditional update (one Paxos round on one partition),
// so they can never disagree: a retry finds the row already in place and changes nothing,
// concurrent changes serialize per shard and are retried, and a post's count is the sum of its
// shards' static cells. Counter columns are not used: an increment that times out may or may not
// have applied, and can be neither retried nor undone safely.
//
// A row never disappears: "present" turns false (an unlike, a deleted comment). "version" counts
// its changes and "published" is the version whose follow-up (list rows, event) was written, so
// a change whose follow-up failed is completed by the next request that finds it (a retry).
import type { CassandraDb, Row, Statement } from "../platform/cassandra.js";
import { types } from "../platform/cassandra.js";
import { DependencyUnavailableError } from "../platform/errors.js";
import type { Counts } from "./store.js";

export const LIKE = 0;
export const COMMENT = 1;
export type Kind = typeof LIKE | typeof COMMENT;

/** Partitions per post: spreads the Paxos contention of a hot post, at the cost of a wider read. */
export const SHARDS = 16;
const ALL_SHARDS = Array.from({ length: SHARDS }, (_, i) => i);
const COUNT_COLUMN = ["likes", "comments"] as const;
/** Conditional updates lost to concurrent ones before giving up with UNAVAILABLE. */
const MAX_ATTEMPTS = 30;

export const TALLY_TABLE = `CREATE TABLE IF NOT EXISTS engagement_tally (
  post_id bigint, shard int, kind tinyint, item bigint,
  likes bigint static, comments bigint static,
  present boolean, version int, published int, at timestamp, author_id bigint, text text,
  PRIMARY KEY ((post_id, shard), kind, item))`;

export interface TallyRow {
  /** null: the row never existed. */
  present: boolean | null;
  version: number | null;
  published: number | null;
  /** When the item was added (a like's time, a comment's creation time). */
  at: Date | null;
  authorId: string | null;
  text: string | null;
}

/** Columns a change may set besides presence (a new like's time, a comment's author and text). */
export interface TallySet {
  at?: Date;
  authorId?: string;
  text?: string | null;
}

const ROW_COLUMNS = "item, present, version, published, at, author_id, text";

function toRow(r: Row | undefined): TallyRow {
  return {
    present: r?.present ?? null,
    version: r?.version ?? null,
    published: r?.published ?? null,
    at: r?.at ?? null,
    authorId: r?.author_id?.toString() ?? null,
    text: r?.text ?? null,
  };
}

/** The shard of an item: a hash of its id (ids' low bits are mostly a zero sequence). */
export function shardOf(item: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < item.length; i++) h = Math.imul(h ^ item.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SHARDS;
}

export class Tally {
  constructor(private readonly db: CassandraDb) {}

  /** One row (absent: present null). */
  async row(postId: string, kind: Kind, item: string, serial = false): Promise<TallyRow> {
    const r = await this.db.execute(
      `SELECT ${ROW_COLUMNS} FROM engagement_tally WHERE post_id = ? AND shard = ? AND kind = ? AND item = ?`,
      [BigInt(postId), shardOf(item), kind, BigInt(item)],
      serial ? { consistency: types.consistencies.localSerial } : {},
    );
    return toRow(r.first());
  }

  /**
   * Turns the row's presence to `to` if `from(current presence)` allows it, together with its
   * shard's count. Returns the row after, whether this call changed it, and whether a concurrent
   * request did (`lost`: this call's last conditional update was refused; the request that made
   * the change writes its follow-up).
   */
  async flip(
    postId: string,
    kind: Kind,
    item: string,
    to: boolean,
    from: (present: boolean | null) => boolean,
    set: TallySet = {},
  ): Promise<{ row: TallyRow; changed: boolean; lost: boolean }> {
    const column = COUNT_COLUMN[kind];
    const key = [BigInt(postId), shardOf(item), kind, BigInt(item)];
    const extra: [string, unknown][] = [];
    if (set.at !== undefined) extra.push(["at", set.at]);
    if (set.authorId !== undefined) extra.push(["author_id", BigInt(set.authorId)]);
    if (set.text !== undefined) extra.push(["text", set.text]);
    const cql = `UPDATE engagement_tally SET ${[column, "present", "version", ...extra.map(([c]) => c)].map((c) => `${c} = ?`).join(", ")}
      WHERE post_id = ? AND shard = ? AND kind = ? AND item = ? IF ${column} = ? AND present = ? AND version = ?`;
    let serial = false;
    let lost = false;
    for (let attempt = 1; ; attempt++) {
      const [row, count] = await Promise.all([
        this.row(postId, kind, item, serial),
        this.shardCount(postId, kind, key[1] as number, serial),
      ]);
      if (row.present === to || !from(row.present)) return { row, changed: false, lost };
      if (attempt > MAX_ATTEMPTS) throw new DependencyUnavailableError(`too many concurrent changes of post ${postId}, retry later`);
      const version = (row.version ?? 0) + 1;
      const next = (count ?? 0n) + (to ? 1n : -1n);
      try {
        const r = await this.db.execute(cql, [next, to, version, ...extra.map(([, v]) => v), ...key, count, row.present, row.version]);
        if (r.wasApplied()) return { row: { ...row, present: to, version, ...set }, changed: true, lost };
        serial = false;
        lost = true;
      } catch (err) {
        if (!(err instanceof DependencyUnavailableError) || attempt === MAX_ATTEMPTS) throw err;
        // A conditional write that timed out may have applied (then the change is this call's):
        // a serial read tells.
        serial = true;
        lost = false;
      }
      // exponential backoff with full jitter: contenders for one shard spread out instead of
      // colliding again in the next Paxos round
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 4 * 2 ** attempt)));
    }
  }

  /** Whether the follow-up of the row's current state has not been written yet. */
  unpublished(row: TallyRow): boolean {
    return row.present !== null && row.version !== row.published;
  }

  /** Records that the row's state of this version has been published (joins the follow-up's batch). */
  markPublished(postId: string, kind: Kind, item: string, version: number): Statement {
    return {
      query: "UPDATE engagement_tally SET published = ? WHERE post_id = ? AND shard = ? AND kind = ? AND item = ?",
      params: [version, BigInt(postId), shardOf(item), kind, BigInt(item)],
    };
  }

  /** A post's counts: the sum of its shards' static cells. */
  async counts(postId: string): Promise<Counts> {
    return (await this.countsOf([postId])).get(postId)!;
  }

  /**
   * The counts of several posts: every shard of a few posts per query, at most 96 partition keys
   * (ScyllaDB refuses more than 100 per query by default).
   */
  async countsOf(postIds: string[]): Promise<Map<string, Counts>> {
    const out = new Map<string, Counts>(postIds.map((id) => [id, { likes: 0, comments: 0 }]));
    const per = Math.floor(96 / SHARDS);
    const ids = [...out.keys()].map(BigInt);
    const chunks = [];
    for (let i = 0; i < ids.length; i += per) chunks.push(ids.slice(i, i + per));
    const results = await Promise.all(
      chunks.map((chunk) =>
        this.db.execute("SELECT DISTINCT post_id, shard, likes, comments FROM engagement_tally WHERE post_id IN ? AND shard IN ?", [
          chunk,
          ALL_SHARDS,
        ]),
      ),
    );
    for (const r of results.flatMap((res) => res.rows)) {
      const c = out.get(r.post_id.toString())!;
      c.likes += Number(r.likes ?? 0n);
      c.comments += Number(r.comments ?? 0n);
    }
    return out;
  }

  /** Whether one item is present in each of several posts (a user's likes of a page): one query. */
  async presentIn(postIds: string[], kind: Kind, item: string): Promise<Set<string>> {
    if (postIds.length === 0) return new Set();
    const r = await this.db.execute(
      "SELECT post_id, present FROM engagement_tally WHERE post_id IN ? AND shard = ? AND kind = ? AND item = ?",
      [[...new Set(postIds)].map(BigInt), shardOf(item), kind, BigInt(item)],
    );
    return new Set(r.rows.filter((row) => row.present).map((row) => row.post_id.toString()));
  }

  /** The present rows among these items (several items per shard in one query). */
  async presentRows(postId: string, kind: Kind, items: string[]): Promise<Map<string, TallyRow>> {
    const byShard = new Map<number, bigint[]>();
    for (const item of new Set(items)) {
      const list = byShard.get(shardOf(item)) ?? [];
      list.push(BigInt(item));
      byShard.set(shardOf(item), list);
    }
    const found = new Map<string, TallyRow>();
    await Promise.all(
      [...byShard].map(async ([shard, list]) => {
        const r = await this.db.execute(
          `SELECT ${ROW_COLUMNS} FROM engagement_tally WHERE post_id = ? AND shard = ? AND kind = ? AND item IN ?`,
          [BigInt(postId), shard, kind, list],
        );
        for (const row of r.rows) if (row.present) found.set(row.item.toString(), toRow(row));
      }),
    );
    return found;
  }

  /** Up to `limit` present rows after an item, in item order, merged from every shard. */
  async listPresent(postId: string, kind: Kind, after: string | null, limit: number): Promise<(TallyRow & { item: string })[]> {
    const shards = await Promise.all(
      ALL_SHARDS.map(
        async (shard) =>
          (
            await this.db.execute(
              `SELECT ${ROW_COLUMNS} FROM engagement_tally
               WHERE post_id = ? AND shard = ? AND kind = ? AND item > ? AND present = true LIMIT ? ALLOW FILTERING`,
              [BigInt(postId), shard, kind, BigInt(after ?? "0"), limit],
            )
          ).rows,
      ),
    );
    return shards
      .flat()
      .sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0))
      .slice(0, limit)
      .map((r) => ({ ...toRow(r), item: r.item.toString() }));
  }

  /** Deletes every shard of a post. */
  async drop(postId: string): Promise<void> {
    await this.db.execute("DELETE FROM engagement_tally WHERE post_id = ? AND shard IN ?", [BigInt(postId), ALL_SHARDS]);
  }

  private async shardCount(postId: string, kind: Kind, shard: number, serial: boolean): Promise<bigint | null> {
    const r = await this.db.execute(
      `SELECT DISTINCT post_id, shard, ${COUNT_COLUMN[kind]} AS n FROM engagement_tally WHERE post_id = ? AND shard = ?`,
      [BigInt(postId), shard],
      serial ? { consistency: types.consistencies.localSerial } : {},
    );
    return r.first()?.n ?? null;
  }
}
