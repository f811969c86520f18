// GraphStore on Cassandra/ScyllaDB. An edge is decided by a lightweight transaction on
// graph_edges (so a double follow counts once); the lists by time and the event follow in one
// logged batch; counters are Cassandra counters (they cannot share a batch with other writes).
// The celebrity index, graph_following_celebrities, is one partition per follower; a crossing
// account's status moves by lightweight transactions, and the rows a job adds carry the time of
// the read that found them (USING TIMESTAMP), so an unfollow written after that read wins.
import type { CassandraDb, Row, Statement } from "../platform/cassandra.js";
import type { EncodedEvent } from "../platform/events.js";
import {
  type CelebrityState,
  type CelebrityStatus,
  type EdgeCursor,
  type EdgePage,
  type EdgeState,
  type EdgesWith,
  type EventFor,
  FOLLOWING,
  type GraphStore,
  indexesFollowers,
  NONE,
  NOT_CELEBRITY,
  REGULAR,
  REQUESTED,
} from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS graph_edges (
     follower_id bigint, followee_id bigint, state int, create_time timestamp, PRIMARY KEY (follower_id, followee_id));
   CREATE TABLE IF NOT EXISTS graph_incoming (
     followee_id bigint, state int, create_time timestamp, follower_id bigint,
     PRIMARY KEY ((followee_id, state), create_time, follower_id)) WITH CLUSTERING ORDER BY (create_time DESC, follower_id DESC);
   CREATE TABLE IF NOT EXISTS graph_outgoing (
     follower_id bigint, create_time timestamp, followee_id bigint,
     PRIMARY KEY (follower_id, create_time, followee_id)) WITH CLUSTERING ORDER BY (create_time DESC, followee_id DESC);
   CREATE TABLE IF NOT EXISTS graph_counts (user_id bigint PRIMARY KEY, followers counter, following counter);
   CREATE TABLE IF NOT EXISTS graph_private (user_id bigint PRIMARY KEY, private boolean)`,
  `CREATE TABLE IF NOT EXISTS graph_celebrities (
     user_id bigint PRIMARY KEY, state int, since timestamp, cursor_t timestamp, cursor_id bigint, announced boolean);
   CREATE TABLE IF NOT EXISTS graph_following_celebrities (
     follower_id bigint, create_time timestamp, followee_id bigint,
     PRIMARY KEY (follower_id, create_time, followee_id)) WITH CLUSTERING ORDER BY (create_time DESC, followee_id DESC)`,
];

const INDEX_INSERT = "INSERT INTO graph_following_celebrities (follower_id, create_time, followee_id) VALUES (?, ?, ?)";
const INDEX_DELETE = "DELETE FROM graph_following_celebrities WHERE follower_id = ? AND create_time = ? AND followee_id = ?";

const MAX_ID = 9223372036854775807n;

export class CassandraGraphStore implements GraphStore {
  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraGraphStore> {
    await db.migrate("graph", MIGRATIONS);
    return new CassandraGraphStore(db);
  }

  async edge(followerId: string, followeeId: string): Promise<EdgeState> {
    return (await this.readEdge(followerId, followeeId))?.state ?? NONE;
  }

  async isPrivate(userId: string): Promise<boolean> {
    return !!(await this.db.execute("SELECT private FROM graph_private WHERE user_id = ?", [BigInt(userId)])).first()?.private;
  }

  /** Three queries whatever the number of others: one partition, then two multi-partition INs. */
  async edgesWith(userId: string, others: string[]): Promise<Map<string, EdgesWith>> {
    const me = BigInt(userId);
    const ids = [...new Set(others)].map(BigInt);
    const [out, inc, priv] = await Promise.all([
      this.db.execute("SELECT followee_id, state FROM graph_edges WHERE follower_id = ? AND followee_id IN ?", [me, ids]),
      this.db.execute("SELECT follower_id, state FROM graph_edges WHERE follower_id IN ? AND followee_id = ?", [ids, me]),
      this.db.execute("SELECT user_id, private FROM graph_private WHERE user_id IN ?", [ids]),
    ]);
    const outgoing = new Map(out.rows.map((r) => [r.followee_id.toString(), r.state as EdgeState]));
    const incoming = new Map(inc.rows.map((r) => [r.follower_id.toString(), r.state as EdgeState]));
    const isPrivate = new Set(priv.rows.filter((r) => r.private).map((r) => r.user_id.toString()));
    return new Map(
      others.map((o) => [o, { outgoing: outgoing.get(o) ?? NONE, incoming: incoming.get(o) ?? NONE, private: isPrivate.has(o) }]),
    );
  }

  async addEdge(followerId: string, followeeId: string, state: EdgeState, now: number, event: EventFor): Promise<EdgeState> {
    const [a, b] = [BigInt(followerId), BigInt(followeeId)];
    const t = new Date(now);
    const r = await this.db.execute(
      "INSERT INTO graph_edges (follower_id, followee_id, state, create_time) VALUES (?, ?, ?, ?) IF NOT EXISTS",
      [a, b, state, t],
    );
    if (!r.wasApplied()) return (r.first()?.state as EdgeState | undefined) ?? NONE;
    try {
      const lists: Statement[] = [
        {
          query: "INSERT INTO graph_incoming (followee_id, state, create_time, follower_id) VALUES (?, ?, ?, ?)",
          params: [b, state, t, a],
        },
      ];
      if (state === FOLLOWING) {
        lists.push({ query: "INSERT INTO graph_outgoing (follower_id, create_time, followee_id) VALUES (?, ?, ?)", params: [a, t, b] });
        if (indexesFollowers((await this.celebrity(followeeId)).state)) lists.push({ query: INDEX_INSERT, params: [a, t, b] });
      }
      const count = state === FOLLOWING ? await this.bump(a, b, 1) : await this.followerCount(b);
      await this.db.batch([...lists, this.db.outbox("graph", event(count))]);
      return state;
    } catch (err) {
      // Undo the decision, so the follow can be retried and is not half done.
      await this.db.execute("DELETE FROM graph_edges WHERE follower_id = ? AND followee_id = ? IF EXISTS", [a, b]).catch(() => undefined);
      if (state === FOLLOWING) await this.bump(a, b, -1).catch(() => undefined);
      throw err;
    }
  }

  async removeEdge(followerId: string, followeeId: string, event: EventFor): Promise<EdgeState> {
    const [a, b] = [BigInt(followerId), BigInt(followeeId)];
    const existing = await this.readEdge(followerId, followeeId);
    if (!existing) return NONE;
    const r = await this.db.execute("DELETE FROM graph_edges WHERE follower_id = ? AND followee_id = ? IF state = ?", [
      a,
      b,
      existing.state,
    ]);
    if (!r.wasApplied()) return this.removeEdge(followerId, followeeId, event); // changed meanwhile: look again
    const statements: Statement[] = [
      {
        query: "DELETE FROM graph_incoming WHERE followee_id = ? AND state = ? AND create_time = ? AND follower_id = ?",
        params: [b, existing.state, existing.time, a],
      },
    ];
    if (existing.state === FOLLOWING) {
      statements.push({
        query: "DELETE FROM graph_outgoing WHERE follower_id = ? AND create_time = ? AND followee_id = ?",
        params: [a, existing.time, b],
      });
      statements.push({ query: INDEX_DELETE, params: [a, existing.time, b] });
      statements.push(this.db.outbox("graph", event(await this.bump(a, b, -1))));
    }
    await this.db.batch(statements);
    return existing.state;
  }

  async approve(followerId: string, followeeId: string, now: number, event: EventFor): Promise<boolean> {
    const [a, b] = [BigInt(followerId), BigInt(followeeId)];
    const existing = await this.readEdge(followerId, followeeId);
    if (existing?.state !== REQUESTED) return false;
    const t = new Date(now);
    const r = await this.db.execute(
      "UPDATE graph_edges SET state = ?, create_time = ? WHERE follower_id = ? AND followee_id = ? IF state = ?",
      [FOLLOWING, t, a, b, REQUESTED],
    );
    if (!r.wasApplied()) return false;
    const count = await this.bump(a, b, 1);
    const indexed = indexesFollowers((await this.celebrity(followeeId)).state);
    await this.db.batch([
      ...(indexed ? [{ query: INDEX_INSERT, params: [a, t, b] }] : []),
      {
        query: "DELETE FROM graph_incoming WHERE followee_id = ? AND state = ? AND create_time = ? AND follower_id = ?",
        params: [b, REQUESTED, existing.time, a],
      },
      {
        query: "INSERT INTO graph_incoming (followee_id, state, create_time, follower_id) VALUES (?, ?, ?, ?)",
        params: [b, FOLLOWING, t, a],
      },
      { query: "INSERT INTO graph_outgoing (follower_id, create_time, followee_id) VALUES (?, ?, ?)", params: [a, t, b] },
      this.db.outbox("graph", event(count)),
    ]);
    return true;
  }

  async listIncoming(userId: string, state: EdgeState, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    const rows = (
      await this.db.execute(
        "SELECT follower_id, create_time FROM graph_incoming WHERE followee_id = ? AND state = ? AND (create_time, follower_id) < (?, ?) LIMIT ?",
        [BigInt(userId), state, new Date(after?.t ?? 8.64e15), after ? BigInt(after.id) : MAX_ID, limit + 1],
      )
    ).rows.map((r) => ({ userId: r.follower_id.toString(), createTime: r.create_time.getTime() }));
    return page(rows, limit);
  }

  async listOutgoing(userId: string, limit: number, after: EdgeCursor | null, minFollowers: number): Promise<EdgePage> {
    const out: { userId: string; createTime: number }[] = [];
    let cursor = after;
    // With a follower-count filter, read on until the page is full or the list ends.
    for (;;) {
      const chunk = (
        await this.db.execute(
          "SELECT followee_id, create_time FROM graph_outgoing WHERE follower_id = ? AND (create_time, followee_id) < (?, ?) LIMIT ?",
          [BigInt(userId), new Date(cursor?.t ?? 8.64e15), cursor ? BigInt(cursor.id) : MAX_ID, Math.max(limit + 1, 100)],
        )
      ).rows.map((r) => ({ userId: r.followee_id.toString(), createTime: r.create_time.getTime() }));
      const kept = minFollowers > 0 ? await this.withFollowers(chunk, minFollowers) : chunk;
      for (const e of kept) if (out.length <= limit) out.push(e);
      if (out.length > limit || chunk.length < Math.max(limit + 1, 100)) break;
      const last = chunk.at(-1)!;
      cursor = { t: last.createTime, id: last.userId };
    }
    return page(out, limit);
  }

  async listCelebrities(userId: string, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    const rows = (
      await this.db.execute(
        "SELECT followee_id, create_time FROM graph_following_celebrities WHERE follower_id = ? AND (create_time, followee_id) < (?, ?) LIMIT ?",
        [BigInt(userId), new Date(after?.t ?? 8.64e15), after ? BigInt(after.id) : MAX_ID, limit + 1],
      )
    ).rows.map((r) => ({ userId: r.followee_id.toString(), createTime: r.create_time.getTime() }));
    return page(rows, limit);
  }

  async counts(userId: string): Promise<{ followers: number; following: number }> {
    const r = (await this.db.execute("SELECT followers, following FROM graph_counts WHERE user_id = ?", [BigInt(userId)])).first();
    return { followers: Math.max(0, Number(r?.followers ?? 0)), following: Math.max(0, Number(r?.following ?? 0)) };
  }

  async setPrivate(
    userId: string,
    isPrivate: boolean,
    event: EncodedEvent,
    approved: (followerId: string, count: number) => EncodedEvent,
  ): Promise<void> {
    await this.db.batch([
      { query: "INSERT INTO graph_private (user_id, private) VALUES (?, ?)", params: [BigInt(userId), isPrivate] },
      this.db.outbox("graph", event),
    ]);
    if (isPrivate) return;
    let after: EdgeCursor | null = null;
    do {
      const pending: EdgePage = await this.listIncoming(userId, REQUESTED, 500, after);
      for (const e of pending.edges) await this.approve(e.userId, userId, Date.now(), (count) => approved(e.userId, count));
      after = pending.next;
    } while (after);
  }

  async celebrity(userId: string): Promise<CelebrityStatus> {
    const r = (
      await this.db.execute("SELECT state, since, cursor_t, cursor_id, announced FROM graph_celebrities WHERE user_id = ?", [
        BigInt(userId),
      ])
    ).first();
    return r ? statusOf(r) : NOT_CELEBRITY;
  }

  async moveCelebrity(userId: string, from: CelebrityStatus, to: { state: CelebrityState; since: number }): Promise<boolean> {
    const [user, since] = [BigInt(userId), new Date(to.since)];
    const was = [from.state, new Date(from.since)];
    const r =
      from.state === REGULAR
        ? await this.db.execute("INSERT INTO graph_celebrities (user_id, state, since, announced) VALUES (?, ?, ?, false) IF NOT EXISTS", [
            user,
            to.state,
            since,
          ])
        : to.state === REGULAR
          ? await this.db.execute("DELETE FROM graph_celebrities WHERE user_id = ? IF state = ? AND since = ?", [user, ...was])
          : await this.db.execute(
              `UPDATE graph_celebrities SET state = ?, since = ?, cursor_t = null, cursor_id = null, announced = false
               WHERE user_id = ? IF state = ? AND since = ?`,
              [to.state, since, user, ...was],
            );
    return r.wasApplied();
  }

  async saveCursor(userId: string, status: CelebrityStatus, cursor: EdgeCursor): Promise<boolean> {
    const r = await this.db.execute(
      "UPDATE graph_celebrities SET cursor_t = ?, cursor_id = ? WHERE user_id = ? IF state = ? AND since = ?",
      [new Date(cursor.t), BigInt(cursor.id), BigInt(userId), status.state, new Date(status.since)],
    );
    return r.wasApplied();
  }

  async announce(userId: string, status: CelebrityStatus, event: EncodedEvent): Promise<void> {
    // The event first: a crash before the mark announces again (a repeat), never not at all.
    await this.db.batch([this.db.outbox("graph", event)]);
    await this.db.execute("UPDATE graph_celebrities SET announced = true WHERE user_id = ? IF state = ? AND since = ?", [
      BigInt(userId),
      status.state,
      new Date(status.since),
    ]);
  }

  async indexFollowers(followeeId: string, after: EdgeCursor | null, limit: number, add: boolean): Promise<EdgeCursor | null> {
    const readAt = microsNow();
    const followers = await this.listIncoming(followeeId, FOLLOWING, limit, after);
    const b = BigInt(followeeId);
    await this.db.concurrent(
      add ? `${INDEX_INSERT} USING TIMESTAMP ?` : INDEX_DELETE,
      followers.edges.map((e) => [BigInt(e.userId), new Date(e.createTime), b, ...(add ? [readAt] : [])]),
    );
    return followers.next;
  }

  async reconcile(followerId: string, followeeId: string): Promise<void> {
    const { state } = await this.celebrity(followeeId);
    if (state === REGULAR) return;
    const [a, b] = [BigInt(followerId), BigInt(followeeId)];
    const readAt = microsNow();
    const edge = await this.readEdge(followerId, followeeId);
    if (edge?.state === FOLLOWING) {
      if (indexesFollowers(state)) await this.db.execute(`${INDEX_INSERT} USING TIMESTAMP ?`, [a, edge.time, b, readAt]);
      return;
    }
    // No edge: remove whatever row it left (the partition holds only the user's celebrities).
    const stale: unknown[][] = [];
    for await (const r of this.db.rows("SELECT create_time, followee_id FROM graph_following_celebrities WHERE follower_id = ?", [a])) {
      if (r.followee_id === b) stale.push([a, r.create_time, b]);
    }
    await this.db.concurrent(INDEX_DELETE, stale);
  }

  private async readEdge(followerId: string, followeeId: string): Promise<{ state: EdgeState; time: Date } | undefined> {
    const r = (
      await this.db.execute("SELECT state, create_time FROM graph_edges WHERE follower_id = ? AND followee_id = ?", [
        BigInt(followerId),
        BigInt(followeeId),
      ])
    ).first();
    return r ? { state: r.state as EdgeState, time: r.create_time } : undefined;
  }

  /** Adjusts both counters; returns the followee's follower count after the change. */
  private async bump(follower: bigint, followee: bigint, delta: number): Promise<number> {
    await this.db.client.batch(
      [
        { query: "UPDATE graph_counts SET followers = followers + ? WHERE user_id = ?", params: [BigInt(delta), followee] },
        { query: "UPDATE graph_counts SET following = following + ? WHERE user_id = ?", params: [BigInt(delta), follower] },
      ],
      { prepare: true, counter: true },
    );
    return this.followerCount(followee);
  }

  private async followerCount(user: bigint): Promise<number> {
    return Math.max(
      0,
      Number((await this.db.execute("SELECT followers FROM graph_counts WHERE user_id = ?", [user])).first()?.followers ?? 0),
    );
  }

  private async withFollowers<T extends { userId: string }>(entries: T[], min: number): Promise<T[]> {
    const counts = await Promise.all(entries.map((e) => this.followerCount(BigInt(e.userId))));
    return entries.filter((_, i) => counts[i]! >= min);
  }
}

function statusOf(r: Row): CelebrityStatus {
  return {
    state: r.state as CelebrityState,
    since: r.since.getTime(),
    cursor: r.cursor_t ? { t: r.cursor_t.getTime(), id: r.cursor_id.toString() } : null,
    announced: !!r.announced,
  };
}

/** Now as a write timestamp (microseconds). */
function microsNow(): bigint {
  return BigInt(Date.now()) * 1000n;
}

function page(edges: { userId: string; createTime: number }[], limit: number): EdgePage {
  const kept = edges.slice(0, limit);
  const last = kept.at(-1);
  return { edges: kept, next: edges.length > limit && last ? { t: last.createTime, id: last.userId } : null };
}
