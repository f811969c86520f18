// The embedded store: SQLite through Node's built-in node:sqlite (no native dependency). One
// database holds every service's tables (each service its own, prefixed by its name) and the
// outbox of events, so that a write and the event it publishes commit in one transaction.
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

export type Row = Record<string, SQLInputValue>;

export class EmbeddedDb {
  readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private readonly appended = new EventEmitter();
  private depth = 0;
  private pendingEvents = false;

  /** Opens (creating if needed) the database file in dataDir, or an in-memory one when dataDir is null. */
  constructor(dataDir: string | null) {
    let path = ":memory:";
    if (dataDir !== null) {
      mkdirSync(dataDir, { recursive: true });
      path = join(dataDir, "feedmesh.db");
    }
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS feedmesh_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version));
      CREATE TABLE IF NOT EXISTS feedmesh_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT NOT NULL,
        payload BLOB NOT NULL, headers TEXT NOT NULL, create_time INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS feedmesh_outbox_topic ON feedmesh_outbox (topic, seq);
      CREATE TABLE IF NOT EXISTS feedmesh_offsets (grp TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (grp, topic));
    `);
  }

  /** Applies, in order and once each, the migrations of a component. */
  migrate(component: string, steps: string[]): void {
    const done = new Set(this.all("SELECT version FROM feedmesh_migrations WHERE component = ?", component).map((r) => Number(r.version)));
    steps.forEach((sql, i) => {
      if (done.has(i + 1)) return;
      this.tx(() => {
        this.db.exec(sql);
        this.run("INSERT INTO feedmesh_migrations (component, version) VALUES (?, ?)", component, i + 1);
      });
    });
  }

  /** Runs fn in a transaction (nested calls join the outer one). fn must be synchronous. */
  tx<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    this.depth++;
    this.pendingEvents = false;
    try {
      const result = fn();
      this.db.exec("COMMIT");
      if (this.pendingEvents) setImmediate(() => this.appended.emit("event"));
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.depth--;
    }
  }

  /** Appends an event to the outbox; it becomes visible to consumers when the transaction commits. */
  appendEvent(topic: string, key: string, payload: Uint8Array, headers: Record<string, string>): void {
    this.run(
      "INSERT INTO feedmesh_outbox (topic, key, payload, headers, create_time) VALUES (?, ?, ?, ?, ?)",
      topic,
      key,
      payload,
      JSON.stringify(headers),
      Date.now(),
    );
    if (this.depth > 0) this.pendingEvents = true;
    else setImmediate(() => this.appended.emit("event"));
  }

  /** Calls listener after each commit that appended events. */
  onEvents(listener: () => void): () => void {
    this.appended.on("event", listener);
    return () => this.appended.off("event", listener);
  }

  run(sql: string, ...params: SQLInputValue[]): { changes: number } {
    const r = this.stmt(sql).run(...params);
    return { changes: Number(r.changes) };
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.stmt(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.stmt(sql).all(...params) as Row[];
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      s.setReadBigInts(true);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** Column helpers: ids are INTEGER columns read as bigint and handed out as decimal strings. */
export const col = {
  id: (v: SQLInputValue | undefined): string => (v === null || v === undefined ? "" : String(v)),
  num: (v: SQLInputValue | undefined): number => (v === null || v === undefined ? 0 : Number(v)),
  str: (v: SQLInputValue | undefined): string => (v === null || v === undefined ? "" : String(v)),
  bool: (v: SQLInputValue | undefined): boolean => Number(v ?? 0) !== 0,
};

/** SQL for "IN (the ids in a JSON array of decimal strings bound as the parameter)". */
export const ID_LIST = "(SELECT CAST(value AS INTEGER) FROM json_each(?))";
