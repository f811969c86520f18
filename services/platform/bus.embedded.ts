// The embedded event bus: consumers read the SQLite outbox in order and keep their committed
// position per group, so an event written with its change is delivered at least once, across
// crashes and restarts. Offsets advance only after the handler finished.
import { consume } from "./consume.js";
import type { EventBus, EventHandler, Topic } from "./events.js";
import type { Logger } from "./log.js";
import { groupBy, inParallel, KEYS_IN_FLIGHT } from "./parallel.js";
import type { EmbeddedDb } from "./sqlite.js";

interface Subscription {
  group: string;
  topic: Topic;
  handler: EventHandler<Topic>;
  running: boolean;
  again: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
}

const BATCH = 200;
const POLL_MS = 1_000;

export class EmbeddedBus implements EventBus {
  private readonly subs: Subscription[] = [];
  private stopped = true;
  private unlisten: (() => void) | undefined;
  private poller: NodeJS.Timeout | undefined;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly db: EmbeddedDb,
    private readonly log: Logger,
  ) {}

  subscribe<T extends Topic>(group: string, topic: T, handler: EventHandler<T>): void {
    this.subs.push({ group, topic, handler: handler as unknown as EventHandler<Topic>, running: false, again: false, failures: 0 });
  }

  start(): void {
    this.stopped = false;
    this.unlisten = this.db.onEvents(() => this.kick());
    // Polling too: another process may share the database file, and it catches up after restarts.
    this.poller = setInterval(() => this.kick(), POLL_MS);
    this.poller.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    clearInterval(this.poller);
    for (const s of this.subs) clearTimeout(s.timer);
    await this.drained();
  }

  /** Resolves when every subscription has caught up with the outbox (used by tests). */
  async drained(): Promise<void> {
    while (this.subs.some((s) => s.running || (!this.stopped && this.lag(s) > 0 && s.failures === 0))) {
      await new Promise<void>((resolve) => {
        this.idle.add(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }

  private kick(): void {
    if (this.stopped) return;
    for (const s of this.subs) void this.run(s);
  }

  private lag(s: Subscription): number {
    const row = this.db.get("SELECT count(*) AS n FROM feedmesh_outbox WHERE topic = ? AND seq > ?", s.topic, this.offset(s));
    return Number(row?.n ?? 0);
  }

  private offset(s: Subscription): bigint {
    const row = this.db.get("SELECT seq FROM feedmesh_offsets WHERE grp = ? AND topic = ?", s.group, s.topic);
    return (row?.seq as bigint | undefined) ?? 0n;
  }

  private async run(s: Subscription): Promise<void> {
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    try {
      do {
        s.again = false;
        const rows = this.db.all(
          "SELECT seq, key, payload, headers FROM feedmesh_outbox WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?",
          s.topic,
          this.offset(s),
          BATCH,
        );
        // Each key's events in order, different keys side by side (one key's burst does not hold
        // up the others); the offset moves over a row only when it and every row before are done.
        const done = new Set<bigint>();
        let next = 0;
        const finished = (seq: bigint) => {
          done.add(seq);
          let last: bigint | undefined;
          while (next < rows.length && done.has(rows[next]!.seq as bigint)) last = rows[next++]!.seq as bigint;
          if (last !== undefined) this.commit(s, last);
        };
        await inParallel(
          groupBy(rows, (r) => r.key as string),
          KEYS_IN_FLIGHT,
          async (keyed) => {
            for (const row of keyed) {
              if (this.stopped) return;
              await this.deliver(s, row.key as string, row.payload as Uint8Array, JSON.parse(row.headers as string));
              finished(row.seq as bigint);
            }
          },
        );
        if (this.stopped) return;
        if (rows.length === BATCH) s.again = true;
      } while (s.again && !this.stopped);
      s.failures = 0;
    } catch (err) {
      s.failures++;
      const delay = Math.min(100 * 2 ** s.failures, 10_000);
      this.log.warn({ err, group: s.group, topic: s.topic, retryInMs: delay }, "event handler failed; will redeliver");
      s.timer = setTimeout(() => void this.run(s), delay);
      s.timer.unref();
    } finally {
      s.running = false;
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
  }

  private commit(s: Subscription, seq: bigint): void {
    this.db.run(
      "INSERT INTO feedmesh_offsets (grp, topic, seq) VALUES (?, ?, ?) ON CONFLICT (grp, topic) DO UPDATE SET seq = excluded.seq",
      s.group,
      s.topic,
      seq,
    );
  }

  private deliver(s: Subscription, key: string, payload: Uint8Array, headers: Record<string, string>): Promise<void> {
    return consume("embedded", { group: s.group, topic: s.topic, key, payload, headers }, s.handler);
  }
}
