// Relays the Cassandra outbox to Kafka: reads the shards of a component's outbox (each in order,
// several at once; after a local write, just the shard written), publishes with an idempotent
// producer, and deletes what Kafka acknowledged. An event whose
// change was acknowledged to a client is in the outbox, so it reaches Kafka even if Kafka was down
// at that moment (the relay retries until it is back). Delivery is at least once.
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Kafka, Producer } from "kafkajs";
import { Partitioners } from "kafkajs";
import { type CassandraDb, OUTBOX_SHARDS, type Row, types } from "./cassandra.js";
import type { Logger } from "./log.js";
import { instruments } from "./metrics.js";
import { inParallel } from "./parallel.js";

const BATCH = 500;
const tracer = trace.getTracer("feedmesh");
/** How long after its write a row may still become visible to a read (a slow replica, a batch log). */
const SETTLE_MS = 10_000;

/** How many shards one round reads at once. */
const SHARDS_IN_FLIGHT = 8;

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
  /** Shards this process wrote to since they were last read; the others wait for the next sweep. */
  private readonly dirty = new Set<number>();
  private sweepDue = true;
  private lastSweep = 0;

  constructor(
    private readonly db: CassandraDb,
    kafka: Kafka,
    private readonly components: string[],
    private readonly log: Logger,
    private readonly prefix = "",
    private readonly pollMs = 1_000,
  ) {
    // One request in flight keeps each partition's order through retries. Not kafkajs' idempotent
    // mode: it wants unbounded retries (and warns at every start when they are bounded, as here,
    // so that a failed send comes back to this loop, which logs it and keeps the events in the
    // outbox), and it would add nothing: the outbox already delivers at least once, and every
    // consumer is idempotent by event id.
    this.producer = kafka.producer({ maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  }

  start(): void {
    this.stopped = false;
    // Counted when scraped; a failed count (Cassandra down) observes nothing.
    instruments()
      .meter.createObservableGauge("feedmesh.outbox.backlog", { description: "Events in the outbox, not yet published" })
      .addCallback(async (result) => {
        const count = () => this.pending().catch(() => undefined);
        const n = this.stopped ? undefined : await context.with(suppressTracing(ROOT_CONTEXT), count);
        if (n !== undefined) result.observe(n);
      });
    this.db.onAppended((component, shard) => this.kick(component, shard));
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  /**
   * Relays now, or as soon as the current round ends: the shard this process just wrote to, or
   * (no shard) every shard of every component, which the timer does every pollMs for events
   * written by other processes.
   */
  kick(component?: string, shard?: number): void {
    if (this.stopped) return;
    if (component === undefined || shard === undefined) this.sweepDue = true;
    else {
      const i = this.components.indexOf(component);
      if (i < 0) return;
      this.dirty.add(shard + OUTBOX_SHARDS * i);
    }
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    // The polling (reads and deletes of the outbox) is no request's work: not traced, so Zipkin
    // gets no root span per poll. Each event's publish span continues its request (publishSpan).
    void context.with(suppressTracing(ROOT_CONTEXT), () => this.pass());
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
        // A steady stream of local writes must not starve other processes' events.
        if (Date.now() - this.lastSweep >= this.pollMs) this.sweepDue = true;
        if (this.sweepDue) this.lastSweep = Date.now();
        const keys = this.sweepDue ? Array.from({ length: this.components.length * OUTBOX_SHARDS }, (_, k) => k) : [...this.dirty];
        this.sweepDue = false;
        this.dirty.clear();
        for (const key of await this.round(keys)) this.dirty.add(key); // shards with more to read
        if (this.dirty.size > 0 || this.sweepDue) this.again = true;
      } while (this.again && !this.stopped);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.sweepDue = true;
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

  /**
   * One round: reads these shards (a few at once), publishes what they hold in one Kafka batch
   * (each shard's rows in order), then deletes what Kafka acknowledged. Returns the shards that
   * had a full batch (more to read).
   */
  private async round(keys: number[]): Promise<number[]> {
    const found: { key: number; rows: Row[] }[] = [];
    await inParallel(keys, SHARDS_IN_FLIGHT, async (key) => {
      if (this.stopped) return;
      const rows = await this.read(key);
      if (rows.length > 0) found.push({ key, rows });
    });
    if (found.length === 0) return [];
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    const rows = found.flatMap((f) => f.rows);
    const spans = rows.map(publishSpan);
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: byTopic(rows, spans, this.prefix) });
    } catch (err) {
      for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message }).end();
      throw err;
    }
    const m = instruments();
    for (const [i, r] of rows.entries()) {
      spans[i]!.end();
      m.relayDelay.record(Math.max(0, Date.now() - (r.id as InstanceType<typeof types.TimeUuid>).getDate().getTime()) / 1000);
    }
    await inParallel(found, SHARDS_IN_FLIGHT, async ({ key, rows }) => {
      const [component, shard] = this.shardOf(key);
      const deletes = rows.map((r) => ({
        query: "DELETE FROM feedmesh_outbox WHERE component = ? AND shard = ? AND id = ?",
        params: [component, shard, r.id],
      }));
      await this.db.client.batch(deletes, { prepare: true, logged: false });
      // Rows become visible in id order only roughly: of two writes a moment apart, the one with
      // the smaller id may land second. The read position never moves into the last few seconds,
      // so such a row is still found on a later pass (and relayed then: concurrent writes have no
      // order).
      const last = rows.at(-1)!.id as InstanceType<typeof types.TimeUuid>;
      const horizon = Date.now() - SETTLE_MS;
      this.after.set(key, last.getDate().getTime() < horizon ? last : types.TimeUuid.min(new Date(horizon), 0));
    });
    return found.filter((f) => f.rows.length === BATCH).map((f) => f.key);
  }

  private shardOf(key: number): [string, number] {
    return [this.components[Math.floor(key / OUTBOX_SHARDS)]!, key % OUTBOX_SHARDS];
  }

  private async read(key: number): Promise<Row[]> {
    const [component, shard] = this.shardOf(key);
    const after = this.after.get(key);
    return (
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
  }
}

/**
 * A PRODUCER span for an event's publication, a child of the request that wrote it (its trace
 * context is in the row's headers): the consumers' spans continue from it.
 */
function publishSpan(r: Row): Span {
  return tracer.startSpan(
    `${r.topic} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { "messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": r.topic },
    },
    propagation.extract(ROOT_CONTEXT, r.headers ?? {}),
  );
}

/** The rows as Kafka messages per topic, each carrying its publication span's trace context. */
function byTopic(rows: Row[], spans: Span[], prefix: string) {
  const topics = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
  for (const [i, r] of rows.entries()) {
    const list = topics.get(r.topic) ?? [];
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    propagation.inject(trace.setSpan(ROOT_CONTEXT, spans[i]!), headers);
    list.push({ key: r.key, value: r.payload, headers });
    topics.set(r.topic, list);
  }
  return [...topics].map(([topic, messages]) => ({ topic: prefix + topic, messages }));
}
