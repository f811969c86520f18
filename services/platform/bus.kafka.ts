// The event bus on Kafka: one consumer group per subscriber group, every partition of a topic
// worked in parallel, an offset committed only after its handler finished (a handler that throws
// gets the message again). A new group starts from the earliest offset, so nothing written
// before its first start is missed.
import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";
import { consume } from "./consume.js";
import type { EventBus, EventHandler, Topic } from "./events.js";
import type { Logger } from "./log.js";
import { consumerAttributes, instruments } from "./metrics.js";
import { groupBy, inParallel, KEYS_IN_FLIGHT } from "./parallel.js";

/** How often a consumer busy with one event tells the broker it is alive (session: 10 s). */
const HEARTBEAT_WHILE_HANDLING_MS = 2_000;

export class KafkaBus implements EventBus {
  private readonly groups = new Map<string, Map<Topic, EventHandler<Topic>>>();
  private readonly consumers: Consumer[] = [];
  /** The lag gauge: registered at the first start; its admin client connects at the first scrape. */
  private lagObserved = false;
  private lagAdmin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly prefix = "",
    private readonly concurrency = 4,
  ) {}

  subscribe<T extends Topic>(group: string, topic: T, handler: EventHandler<T>): void {
    const topics = this.groups.get(group) ?? new Map<Topic, EventHandler<Topic>>();
    topics.set(topic, handler as unknown as EventHandler<Topic>);
    this.groups.set(group, topics);
  }

  async start(): Promise<void> {
    if (this.groups.size > 0 && !this.lagObserved) this.observeLag();
    for (const [group, topics] of this.groups) {
      const consumer = this.kafka.consumer({
        groupId: `${this.prefix}feedmesh.${group}`,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics.keys()].map((t) => this.prefix + t), fromBeginning: true });
      await consumer.run({
        partitionsConsumedConcurrently: this.concurrency,
        eachBatchAutoResolve: false,
        // Within a partition, each key's events run in order, different keys side by side: one
        // author's burst does not hold up the others that hash to the same partition. An offset
        // is resolved (and later committed) only once it and every offset before it are done.
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const topic = batch.topic.slice(this.prefix.length) as Topic;
          const handler = topics.get(topic);
          const order = batch.messages.map((m) => m.offset);
          const done = new Set<string>();
          let next = 0;
          const finished = (offset: string) => {
            done.add(offset);
            while (next < order.length && done.has(order[next]!)) resolveOffset(order[next++]!);
          };
          await inParallel(
            groupBy(batch.messages, (m) => m.key?.toString() ?? ""),
            KEYS_IN_FLIGHT,
            async (messages) => {
              for (const message of messages) {
                if (!isRunning() || isStale()) return;
                if (handler && message.value) {
                  // A long handler (a fan-out to 10^5 followers) must not outlast the session:
                  // without heartbeats the broker would evict the consumer and redeliver forever.
                  const beat = setInterval(() => heartbeat().catch(() => {}), HEARTBEAT_WHILE_HANDLING_MS);
                  try {
                    await this.handle(group, topic, handler, message);
                  } finally {
                    clearInterval(beat);
                  }
                }
                finished(message.offset);
                await heartbeat();
              }
            },
          );
        },
      });
      this.consumers.push(consumer);
    }
  }

  /** Resolves when every group has committed up to the end of its topics (for tests and tools). */
  async drained(timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const behind = (await this.lag(admin)).reduce((n, l) => n + l.partitionsBehind, 0);
        if (behind === 0) return;
        if (Date.now() > end) throw new Error(`the consumers are still behind on ${behind} partitions`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Per group and topic: the messages not yet committed, and on how many partitions. */
  private async lag(admin: Admin): Promise<{ group: string; topic: Topic; messages: number; partitionsBehind: number }[]> {
    const out = [];
    for (const [group, topics] of this.groups) {
      const names = [...topics.keys()].map((t) => this.prefix + t);
      const committed = await admin.fetchOffsets({ groupId: `${this.prefix}feedmesh.${group}`, topics: names });
      for (const { topic, partitions } of committed) {
        const latest = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
        let messages = 0n;
        let partitionsBehind = 0;
        for (const p of partitions) {
          const behind = (latest.get(p.partition) ?? 0n) - BigInt(p.offset === "-1" ? 0 : p.offset);
          if (behind > 0n) [messages, partitionsBehind] = [messages + behind, partitionsBehind + 1];
        }
        out.push({ group, topic: topic.slice(this.prefix.length) as Topic, messages: Number(messages), partitionsBehind });
      }
    }
    return out;
  }

  /** feedmesh.kafka.consumer.lag, read from the brokers when scraped (nothing while they are down). */
  private observeLag(): void {
    this.lagObserved = true;
    instruments()
      .meter.createObservableGauge("feedmesh.kafka.consumer.lag", { description: "Messages not yet consumed, per group and topic" })
      .addCallback(async (result) => {
        if (this.consumers.length === 0) return; // stopped
        try {
          if (!this.lagAdmin) {
            this.lagAdmin = this.kafka.admin();
            await this.lagAdmin.connect();
          }
          for (const l of await this.lag(this.lagAdmin)) result.observe(l.messages, consumerAttributes(l.topic, l.group));
        } catch {
          await this.lagAdmin?.disconnect().catch(() => undefined);
          this.lagAdmin = undefined;
        }
      });
  }

  private async handle(group: string, topic: Topic, handler: EventHandler<Topic>, message: KafkaMessage): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    try {
      await consume("kafka", { group, topic, key: message.key?.toString() ?? "", payload: message.value!, headers }, handler);
    } catch (err) {
      this.log.warn({ err, group, topic }, "event handler failed; the message will be redelivered");
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.lagAdmin?.disconnect().catch(() => undefined);
    this.lagAdmin = undefined;
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.length = 0;
  }
}
