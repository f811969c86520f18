// GraphStore on the embedded SQLite database. The celebrity index is a table here too (not a
// join of edges and counts): its rows follow the crossing states, not the counts alone, so both
// adapters hold the same rows and pass the same contract; reading it is one index range.
import type { EncodedEvent } from "../platform/events.js";
import { col, type EmbeddedDb, type Row } from "../platform/sqlite.js";
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
  `CREATE TABLE graph_edges (
     follower_id INTEGER NOT NULL, followee_id INTEGER NOT NULL, state INTEGER NOT NULL, create_time INTEGER NOT NULL,
     PRIMARY KEY (follower_id, followee_id)) WITHOUT ROWID;
   CREATE INDEX graph_edges_incoming ON graph_edges (followee_id, state, create_time DESC, follower_id DESC);
   CREATE INDEX graph_edges_outgoing ON graph_edges (follower_id, state, create_time DESC, followee_id DESC);
   CREATE TABLE graph_counts (user_id INTEGER PRIMARY KEY, followers INTEGER NOT NULL DEFAULT 0, following INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE graph_private (user_id INTEGER PRIMARY KEY);`,
  `CREATE TABLE graph_celebrities (
     user_id INTEGER PRIMARY KEY, state INTEGER NOT NULL, since INTEGER NOT NULL,
     cursor_t INTEGER, cursor_id INTEGER, announced INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE graph_following_celebrities (
     follower_id INTEGER NOT NULL, followee_id INTEGER NOT NULL, create_time INTEGER NOT NULL,
     PRIMARY KEY (follower_id, followee_id)) WITHOUT ROWID;
   CREATE INDEX graph_following_celebrities_time ON graph_following_celebrities (follower_id, create_time DESC, followee_id DESC);`,
];

const MAX_ID = BigInt("9223372036854775807");

export class SqliteGraphStore implements GraphStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("graph", MIGRATIONS);
  }

  async edge(followerId: string, followeeId: string): Promise<EdgeState> {
    return this.edgeSync(followerId, followeeId);
  }

  async isPrivate(userId: string): Promise<boolean> {
    return !!this.db.get("SELECT 1 FROM graph_private WHERE user_id = ?", BigInt(userId));
  }

  async edgesWith(userId: string, others: string[]): Promise<Map<string, EdgesWith>> {
    return new Map(
      others.map((o) => [
        o,
        {
          outgoing: this.edgeSync(userId, o),
          incoming: this.edgeSync(o, userId),
          private: !!this.db.get("SELECT 1 FROM graph_private WHERE user_id = ?", BigInt(o)),
        },
      ]),
    );
  }

  async addEdge(followerId: string, followeeId: string, state: EdgeState, now: number, event: EventFor): Promise<EdgeState> {
    return this.db.tx(() => {
      const existing = this.edgeSync(followerId, followeeId);
      if (existing !== NONE) return existing;
      this.db.run(
        "INSERT INTO graph_edges (follower_id, followee_id, state, create_time) VALUES (?, ?, ?, ?)",
        BigInt(followerId),
        BigInt(followeeId),
        state,
        now,
      );
      const count = state === FOLLOWING ? this.bump(followerId, followeeId, 1) : this.followerCount(followeeId);
      if (state === FOLLOWING) this.indexIfCelebrity(followerId, followeeId, now);
      this.append(event(count));
      return state;
    });
  }

  async removeEdge(followerId: string, followeeId: string, event: EventFor): Promise<EdgeState> {
    return this.db.tx(() => {
      const existing = this.edgeSync(followerId, followeeId);
      if (existing === NONE) return NONE;
      this.db.run("DELETE FROM graph_edges WHERE follower_id = ? AND followee_id = ?", BigInt(followerId), BigInt(followeeId));
      this.unindex(followerId, followeeId);
      if (existing === FOLLOWING) this.append(event(this.bump(followerId, followeeId, -1)));
      return existing;
    });
  }

  async approve(followerId: string, followeeId: string, now: number, event: EventFor): Promise<boolean> {
    return this.db.tx(() => this.approveSync(followerId, followeeId, now, event));
  }

  async listIncoming(userId: string, state: EdgeState, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    return this.incoming(userId, state, limit, after);
  }

  async listOutgoing(userId: string, limit: number, after: EdgeCursor | null, minFollowers: number): Promise<EdgePage> {
    const rows = this.db.all(
      `SELECT e.followee_id AS id, e.create_time FROM graph_edges e
       LEFT JOIN graph_counts c ON c.user_id = e.followee_id
       WHERE e.follower_id = ? AND e.state = ? AND (e.create_time, e.followee_id) < (?, ?) AND coalesce(c.followers, 0) >= ?
       ORDER BY e.create_time DESC, e.followee_id DESC LIMIT ?`,
      BigInt(userId),
      FOLLOWING,
      after?.t ?? Number.MAX_SAFE_INTEGER,
      after ? BigInt(after.id) : MAX_ID,
      minFollowers,
      limit + 1,
    );
    return page(rows, limit);
  }

  async listCelebrities(userId: string, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    const rows = this.db.all(
      `SELECT followee_id AS id, create_time FROM graph_following_celebrities
       WHERE follower_id = ? AND (create_time, followee_id) < (?, ?)
       ORDER BY create_time DESC, followee_id DESC LIMIT ?`,
      BigInt(userId),
      after?.t ?? Number.MAX_SAFE_INTEGER,
      after ? BigInt(after.id) : MAX_ID,
      limit + 1,
    );
    return page(rows, limit);
  }

  async counts(userId: string): Promise<{ followers: number; following: number }> {
    const r = this.db.get("SELECT followers, following FROM graph_counts WHERE user_id = ?", BigInt(userId));
    return { followers: col.num(r?.followers), following: col.num(r?.following) };
  }

  async setPrivate(
    userId: string,
    isPrivate: boolean,
    event: EncodedEvent,
    approved: (followerId: string, count: number) => EncodedEvent,
  ): Promise<void> {
    this.db.tx(() => {
      if (isPrivate) {
        this.db.run("INSERT OR IGNORE INTO graph_private (user_id) VALUES (?)", BigInt(userId));
      } else {
        this.db.run("DELETE FROM graph_private WHERE user_id = ?", BigInt(userId));
        const pending = this.db.all("SELECT follower_id FROM graph_edges WHERE followee_id = ? AND state = ?", BigInt(userId), REQUESTED);
        const now = Date.now();
        for (const r of pending) {
          const followerId = col.id(r.follower_id);
          this.approveSync(followerId, userId, now, (count) => approved(followerId, count));
        }
      }
      this.append(event);
    });
  }

  async celebrity(userId: string): Promise<CelebrityStatus> {
    return this.status(userId);
  }

  async moveCelebrity(userId: string, from: CelebrityStatus, to: { state: CelebrityState; since: number }): Promise<boolean> {
    return this.db.tx(() => {
      const now = this.status(userId);
      if (now.state !== from.state || now.since !== from.since) return false;
      if (to.state === REGULAR) this.db.run("DELETE FROM graph_celebrities WHERE user_id = ?", BigInt(userId));
      else
        this.db.run(
          `INSERT INTO graph_celebrities (user_id, state, since) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE
           SET state = excluded.state, since = excluded.since, cursor_t = NULL, cursor_id = NULL, announced = 0`,
          BigInt(userId),
          to.state,
          to.since,
        );
      return true;
    });
  }

  async saveCursor(userId: string, status: CelebrityStatus, cursor: EdgeCursor): Promise<boolean> {
    return (
      this.db.run(
        "UPDATE graph_celebrities SET cursor_t = ?, cursor_id = ? WHERE user_id = ? AND state = ? AND since = ?",
        cursor.t,
        BigInt(cursor.id),
        BigInt(userId),
        status.state,
        status.since,
      ).changes > 0
    );
  }

  async announce(userId: string, status: CelebrityStatus, event: EncodedEvent): Promise<void> {
    this.db.tx(() => {
      this.db.run(
        "UPDATE graph_celebrities SET announced = 1 WHERE user_id = ? AND state = ? AND since = ?",
        BigInt(userId),
        status.state,
        status.since,
      );
      this.append(event);
    });
  }

  async indexFollowers(followeeId: string, after: EdgeCursor | null, limit: number, add: boolean): Promise<EdgeCursor | null> {
    return this.db.tx(() => {
      const followers = this.incoming(followeeId, FOLLOWING, limit, after);
      for (const e of followers.edges) {
        if (add)
          this.db.run(
            "INSERT OR IGNORE INTO graph_following_celebrities (follower_id, followee_id, create_time) VALUES (?, ?, ?)",
            BigInt(e.userId),
            BigInt(followeeId),
            e.createTime,
          );
        else this.unindex(e.userId, followeeId);
      }
      return followers.next;
    });
  }

  async reconcile(followerId: string, followeeId: string): Promise<void> {
    this.db.tx(() => {
      const { state } = this.status(followeeId);
      if (state === REGULAR) return;
      const edge = this.db.get(
        "SELECT state, create_time FROM graph_edges WHERE follower_id = ? AND followee_id = ?",
        BigInt(followerId),
        BigInt(followeeId),
      );
      if (col.num(edge?.state) !== FOLLOWING) this.unindex(followerId, followeeId);
      else if (indexesFollowers(state)) this.indexIfCelebrity(followerId, followeeId, col.num(edge?.create_time));
    });
  }

  private status(userId: string): CelebrityStatus {
    const r = this.db.get("SELECT state, since, cursor_t, cursor_id, announced FROM graph_celebrities WHERE user_id = ?", BigInt(userId));
    if (!r) return NOT_CELEBRITY;
    return {
      state: col.num(r.state) as CelebrityState,
      since: col.num(r.since),
      cursor: r.cursor_t === null ? null : { t: col.num(r.cursor_t), id: col.id(r.cursor_id) },
      announced: col.bool(r.announced),
    };
  }

  /** Gives a new FOLLOWING edge its index row if the followee's state indexes followers. */
  private indexIfCelebrity(followerId: string, followeeId: string, createTime: number): void {
    if (!indexesFollowers(this.status(followeeId).state)) return;
    this.db.run(
      "INSERT OR REPLACE INTO graph_following_celebrities (follower_id, followee_id, create_time) VALUES (?, ?, ?)",
      BigInt(followerId),
      BigInt(followeeId),
      createTime,
    );
  }

  private unindex(followerId: string, followeeId: string): void {
    this.db.run(
      "DELETE FROM graph_following_celebrities WHERE follower_id = ? AND followee_id = ?",
      BigInt(followerId),
      BigInt(followeeId),
    );
  }

  private incoming(userId: string, state: EdgeState, limit: number, after: EdgeCursor | null): EdgePage {
    const rows = this.db.all(
      `SELECT follower_id AS id, create_time FROM graph_edges
       WHERE followee_id = ? AND state = ? AND (create_time, follower_id) < (?, ?)
       ORDER BY create_time DESC, follower_id DESC LIMIT ?`,
      BigInt(userId),
      state,
      after?.t ?? Number.MAX_SAFE_INTEGER,
      after ? BigInt(after.id) : MAX_ID,
      limit + 1,
    );
    return page(rows, limit);
  }

  private approveSync(followerId: string, followeeId: string, now: number, event: EventFor): boolean {
    const changed = this.db.run(
      "UPDATE graph_edges SET state = ?, create_time = ? WHERE follower_id = ? AND followee_id = ? AND state = ?",
      FOLLOWING,
      now,
      BigInt(followerId),
      BigInt(followeeId),
      REQUESTED,
    ).changes;
    if (changed === 0) return false;
    this.indexIfCelebrity(followerId, followeeId, now);
    this.append(event(this.bump(followerId, followeeId, 1)));
    return true;
  }

  private edgeSync(followerId: string, followeeId: string): EdgeState {
    const r = this.db.get(
      "SELECT state FROM graph_edges WHERE follower_id = ? AND followee_id = ?",
      BigInt(followerId),
      BigInt(followeeId),
    );
    return (r ? col.num(r.state) : NONE) as EdgeState;
  }

  /** Adjusts both counters; returns the followee's follower count after the change. */
  private bump(followerId: string, followeeId: string, delta: number): number {
    const upsert = (user: string, column: "followers" | "following") =>
      this.db.run(
        `INSERT INTO graph_counts (user_id, ${column}) VALUES (?, max(?, 0))
         ON CONFLICT (user_id) DO UPDATE SET ${column} = max(${column} + ?, 0)`,
        BigInt(user),
        delta,
        delta,
      );
    upsert(followeeId, "followers");
    upsert(followerId, "following");
    return this.followerCount(followeeId);
  }

  private followerCount(userId: string): number {
    return col.num(this.db.get("SELECT followers FROM graph_counts WHERE user_id = ?", BigInt(userId))?.followers);
  }

  private append(e: EncodedEvent): void {
    this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
  }
}

function page(rows: Row[], limit: number): EdgePage {
  const edges = rows.slice(0, limit).map((r) => ({ userId: col.id(r.id), createTime: col.num(r.create_time) }));
  const last = edges.at(-1);
  return { edges, next: rows.length > limit && last ? { t: last.createTime, id: last.userId } : null };
}
