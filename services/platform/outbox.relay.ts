// Relays the Cassandra outbox to Kafka: reads each shard of a component's outbox in order,
// publishes with an idempotent producer, and deletes what Kafka acknowledged. An event whose
// change was acknowledged to a client is in the outbox, so it reaches Kafka even if Kafka was down
// at that moment (the relay retries until it is back). Delivery is at least once.
import type { Kafka, Producer } from "kafkajs";
import { Partitioners } from "kafkajs";
import { type CassandraDb, OUTBOX_SHARDS, type Row, types } from "./cassandra.js";
import type { Logger } from "./log.js";

const BATCH = 500;
/** How long after its write a row may still become visible to a read (a slow replica, a batch log). */
const SETTLE_MS = 10_000;

export class OutboxRelay {
  private readonly producer: Producer;
  private connected = false;
  private running = false;
  private stopped = true;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** The last relayed id per shard: reads start after it, skipping the tombstones of deleted rows. */
  private readonly after = new Map<number, unknown>();

  constructor(
    private readonly db: CassandraDb,
    kafka: Kafka,
    private readonly components: string[],
    private readonly log: Logger,
    private readonly prefix = "",
    private readonly pollMs = 1_000,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  }

  start(): void {
    this.stopped = false;
    this.db.onAppended(() => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  /** Relays now (after a local write), or as soon as the current pass ends. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    void this.pass();
  }

  /** The number of events waiting (for tests and status). */
  async pending(): Promise<number> {
    let n = 0;
    for (const component of this.components) {
      for (let shard = 0; shard < OUTBOX_SHARDS; shard++) {
        const r = await this.db.execute("SELECT count(*) AS n FROM feedmesh_outbox WHERE component = ? AND shard = ?", [component, shard]);
        n += Number(r.first()?.n ?? 0);
      }
    }
    return n;
  }

  private async pass(): Promise<void> {
    this.running = true;
    let delay = this.pollMs;
    try {
      do {
        this.again = false;
        for (const component of this.components) {
          for (let shard = 0; shard < OUTBOX_SHARDS; shard++) {
            if (this.stopped) return;
            if ((await this.relayShard(component, shard)) === BATCH) this.again = true;
          }
        }
      } while (this.again && !this.stopped);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      delay = Math.min(100 * 2 ** this.failures, 10_000);
      this.log.warn({ err: (err as Error).message, retryInMs: delay }, "outbox relay failed; events stay in the outbox");
    } finally {
      this.running = false;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.kick(), delay);
        this.timer.unref();
      }
    }
  }

  private async relayShard(component: string, shard: number): Promise<number> {
    const key = shard + OUTBOX_SHARDS * this.components.indexOf(component);
    const after = this.after.get(key);
    const rows = (
      after
        ? await this.db.execute(
            "SELECT id, topic, key, payload, headers FROM feedmesh_outbox WHERE component = ? AND shard = ? AND id > ? LIMIT ?",
            [component, shard, after, BATCH],
          )
        : await this.db.execute("SELECT id, topic, key, payload, headers FROM feedmesh_outbox WHERE component = ? AND shard = ? LIMIT ?", [
            component,
            shard,
            BATCH,
          ])
    ).rows;
    if (rows.length === 0) return 0;
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: byTopic(rows, this.prefix) });
    const deletes = rows.map((r) => ({
      query: "DELETE FROM feedmesh_outbox WHERE component = ? AND shard = ? AND id = ?",
      params: [component, shard, r.id],
    }));
    await this.db.client.batch(deletes, { prepare: true, logged: false });
    // Rows become visible in id order only roughly: of two writes a moment apart, the one with the
    // smaller id may land second. The read position never moves into the last few seconds, so such
    // a row is still found on a later pass (and relayed then: concurrent writes have no order).
    const last = rows.at(-1)!.id as InstanceType<typeof types.TimeUuid>;
    const horizon = Date.now() - SETTLE_MS;
    this.after.set(key, last.getDate().getTime() < horizon ? last : types.TimeUuid.min(new Date(horizon), 0));
    return rows.length;
  }
}

function byTopic(rows: Row[], prefix: string) {
  const topics = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
  for (const r of rows) {
    const list = topics.get(r.topic) ?? [];
    list.push({ key: r.key, value: r.payload, headers: r.headers ?? {} });
    topics.set(r.topic, list);
  }
  return [...topics].map(([topic, messages]) => ({ topic: prefix + topic, messages }));
}
