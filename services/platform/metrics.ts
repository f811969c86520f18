// The metrics every target records (docs/observability.md lists them with their Prometheus names).
// Instruments are made on first use, after startTelemetry has registered the meter provider.
import { type Attributes, metrics, SpanKind } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace";

function create() {
  const meter = metrics.getMeter("feedmesh");
  return {
    /** Every RPC a service answers: rate, errors by code, latency (rpc_server_duration_seconds). */
    rpcServer: meter.createHistogram("rpc.server.duration", { unit: "s", description: "Duration of RPCs served, by method and gRPC code" }),
    /** Calls to Cassandra and Redis, timed from their client spans (db_client_operation_duration_seconds). */
    dbClient: meter.createHistogram("db.client.operation.duration", { unit: "s", description: "Duration of data store calls" }),
    /** How old an event is when its consumer starts on it. */
    consumeLag: meter.createHistogram("feedmesh.event.consume.lag", {
      unit: "s",
      description: "Age of an event when a consumer starts handling it",
    }),
    /** From an event's creation to the end of its successful handling (post → feed visibility). */
    delivery: meter.createHistogram("feedmesh.event.delivery", {
      unit: "s",
      description: "From an event's creation to its handling's end",
    }),
    processed: meter.createCounter("feedmesh.event.processed", { description: "Events handled, by outcome" }),
    relayDelay: meter.createHistogram("feedmesh.outbox.relay.delay", {
      unit: "s",
      description: "From an event's outbox write to its publication",
    }),
    cacheRequests: meter.createCounter("feedmesh.feed.cache.requests", {
      description: "Home-feed reads by whether the cache had the page",
    }),
    rebuilds: meter.createCounter("feedmesh.feed.readmodel.rebuilds", { description: "Readers' read models rebuilt from the store" }),
    meter,
  };
}

let made: ReturnType<typeof create> | undefined;

/** The instruments (no-ops until the SDK has started). */
export function instruments(): ReturnType<typeof create> {
  made ??= create();
  return made;
}

/** The attributes of an event's consumer metrics. */
export function consumerAttributes(topic: string, group: string): Attributes {
  return { "messaging.destination.name": topic, "messaging.consumer.group.name": group };
}

const seconds = (span: ReadableSpan) => span.duration[0] + span.duration[1] / 1e9;

/**
 * Records the duration of each data-store client span (the Cassandra and Redis instrumentations'
 * spans) as db.client.operation.duration: every span is recorded (telemetry.ts), sampled or not,
 * so the metric counts every call.
 */
export const clientCallMetrics: SpanProcessor = {
  onStart() {},
  onEnd(span) {
    if (span.kind !== SpanKind.CLIENT) return;
    const a = span.attributes;
    const system = a["db.system.name"] ?? a["db.system"];
    if (typeof system !== "string") return;
    const operation = a["db.operation.name"] ?? a["db.operation"] ?? span.name.replace(/^cassandra-driver\./, "");
    instruments().dbClient.record(seconds(span), { "db.system.name": system, "db.operation.name": String(operation) });
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};
