// Handling one delivered event, the same on both buses: a CONSUMER span that continues the trace
// of the request that wrote the event (its W3C context travels in the event's headers, through
// the outbox and Kafka: the relay's PRODUCER span sits between them), and the consumer metrics:
// the event's age when handling starts, its age when handling ends well (for posts at the
// fanout: post → feed visibility), and the outcome. Hand-written rather than the kafkajs
// instrumentation's: that one runs a batch's handler in the batch's poll span, so the work an
// event causes would not join its request's trace (docs/observability.md).
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { decodeEvent, type EventHandler, type Topic } from "./events.js";
import { consumerAttributes, instruments } from "./metrics.js";

const tracer = trace.getTracer("feedmesh");

export interface Delivered<T extends Topic> {
  group: string;
  topic: T;
  key: string;
  payload: Uint8Array;
  headers: Record<string, string>;
}

/** Runs the handler on one event; throws what it throws (the bus redelivers). */
export async function consume<T extends Topic>(system: string, d: Delivered<T>, handler: EventHandler<T>): Promise<void> {
  const attributes = consumerAttributes(d.topic, d.group);
  const m = instruments();
  const parent = propagation.extract(ROOT_CONTEXT, d.headers);
  await tracer.startActiveSpan(
    `${d.topic} process`,
    { kind: SpanKind.CONSUMER, attributes: { "messaging.system": system, "messaging.operation.type": "process", ...attributes } },
    parent,
    async (span) => {
      try {
        const event = decodeEvent(d.topic, d.payload);
        const created = event.occurTime ? timestampMs(event.occurTime) : Date.now();
        m.consumeLag.record(Math.max(0, Date.now() - created) / 1000, attributes);
        await handler({ topic: d.topic, key: d.key, event, headers: d.headers });
        m.delivery.record(Math.max(0, Date.now() - created) / 1000, attributes);
        m.processed.add(1, { ...attributes, outcome: "ok" });
      } catch (err) {
        m.processed.add(1, { ...attributes, outcome: "error" });
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
