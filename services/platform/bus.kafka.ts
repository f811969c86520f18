// The event bus on Kafka: one consumer group per subscriber group, every partition of a topic
// worked in parallel, an offset committed only after its handler finished (a handler that throws
// gets the message again). A new group starts from the earliest offset, so nothing written
// before its first start is missed.
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import type { Consumer, Kafka } from "kafkajs";
import { decodeEvent, type EventBus, type EventHandler, type Topic } from "./events.js";
import type { Logger } from "./log.js";

const tracer = trace.getTracer("feedmesh");

export class KafkaBus implements EventBus {
  private readonly groups = new Map<string, Map<Topic, EventHandler<Topic>>>();
  private readonly consumers: Consumer[] = [];

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
        eachMessage: async ({ topic: prefixed, message }) => {
          const topic = prefixed.slice(this.prefix.length);
          const handler = topics.get(topic as Topic);
          if (!handler || !message.value) return;
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
          const parent = propagation.extract(context.active(), headers);
          await tracer.startActiveSpan(
            `${topic} process`,
            {
              kind: SpanKind.CONSUMER,
              attributes: { "messaging.system": "kafka", "messaging.destination.name": topic, "messaging.consumer.group.name": group },
            },
            parent,
            async (span) => {
              try {
                await handler({
                  topic: topic as Topic,
                  key: message.key?.toString() ?? "",
                  event: decodeEvent(topic as Topic, message.value!),
                  headers,
                });
              } catch (err) {
                this.log.warn({ err, group, topic }, "event handler failed; the message will be redelivered");
                throw err;
              } finally {
                span.end();
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
        let behind = 0;
        for (const [group, topics] of this.groups) {
          const names = [...topics.keys()].map((t) => this.prefix + t);
          const committed = await admin.fetchOffsets({ groupId: `${this.prefix}feedmesh.${group}`, topics: names });
          for (const { topic, partitions } of committed) {
            const latest = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
            for (const p of partitions) {
              const at = BigInt(p.offset === "-1" ? 0 : p.offset);
              if (at < (latest.get(p.partition) ?? 0n)) behind++;
            }
          }
        }
        if (behind === 0) return;
        if (Date.now() > end) throw new Error(`the consumers are still behind on ${behind} partitions`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.length = 0;
  }
}
