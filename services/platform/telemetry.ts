// OpenTelemetry for every target: traces, metrics and the instrumentations of the clients.
//
// Traces: W3C trace context always; every span is recorded (so logs and events carry real trace
// ids and the client-call metrics below see every call) and exported when sampled. Sampling and
// exporters follow the standard variables: OTEL_TRACES_SAMPLER (parentbased_always_on by default;
// parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.01 keeps 1% of new traces and follows
// the caller's decision), OTEL_TRACES_EXPORTER=none|zipkin|otlp|console (none by default, so the
// embedded mode needs no collector), OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT.
//
// Metrics: the OpenTelemetry metrics SDK, read as Prometheus text at GET /metrics on the target's
// own HTTP port (metricsText), and pushed over OTLP too when OTEL_METRICS_EXPORTER=otlp.
// OTEL_SDK_DISABLED=true turns all of it off (then /metrics is empty and logs have no trace ids).
//
// Instrumentations (maintained, from opentelemetry-js-contrib) patch cassandra-driver, node-redis
// and the AWS SDK when those load, so startTelemetry must run first: services/main.ts imports
// telemetry.start.ts before anything else. Kafka's spans are the project's own (consume.ts,
// outbox.relay.ts); the runtime instrumentation gives event-loop delay and heap.
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { AwsInstrumentation } from "@opentelemetry/instrumentation-aws-sdk";
import { CassandraDriverInstrumentation } from "@opentelemetry/instrumentation-cassandra-driver";
import { RedisInstrumentation } from "@opentelemetry/instrumentation-redis";
import { RuntimeNodeInstrumentation } from "@opentelemetry/instrumentation-runtime-node";
import {
  AggregationType,
  DataPointType,
  type MetricData,
  type MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
  type ViewOptions,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  createAlwaysRecordSampler,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace";
import { clientCallMetrics } from "./metrics.js";

let sdk: NodeSDK | undefined;
let prometheus: PrometheusExporter | undefined;
const serializer = new PrometheusSerializer("", false);

/** Histogram buckets, in seconds: RPCs and client calls, and the age of events. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const AGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const buckets = (name: string, boundaries: number[]): ViewOptions => ({
  instrumentName: name,
  aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } },
});

/** The sampler OTEL_TRACES_SAMPLER names (the SDK's default: parentbased_always_on). */
function samplerFromEnv(env: NodeJS.ProcessEnv): Sampler {
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? "1");
  const ratio = new TraceIdRatioBasedSampler(Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1);
  switch (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on") {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The span exporters OTEL_TRACES_EXPORTER names (comma-separated; none by default). */
function exportersFromEnv(env: NodeJS.ProcessEnv): SpanProcessor[] {
  const names = (env.OTEL_TRACES_EXPORTER ?? "none").split(",").map((s) => s.trim());
  return names.flatMap((name): SpanProcessor[] => {
    if (name === "zipkin") return [new BatchSpanProcessor({ exporter: new ZipkinExporter() })];
    if (name === "otlp") return [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })];
    if (name === "console") return [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })];
    return [];
  });
}

export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): void {
  // OTEL_SDK_DISABLED=true: no spans, no metrics, no instrumentation (the bench's baseline).
  if (sdk || env.OTEL_SDK_DISABLED === "true") return;
  process.env.OTEL_LOGS_EXPORTER ??= "none"; // logs go to stdout (pino), not to an OTLP collector
  prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: MetricReader[] = [prometheus];
  if ((env.OTEL_METRICS_EXPORTER ?? "").split(",").includes("otlp")) {
    readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() }));
  }
  sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    autoDetectResources: false,
    sampler: createAlwaysRecordSampler(samplerFromEnv(env)),
    spanProcessors: [clientCallMetrics, ...exportersFromEnv(env)],
    metricReaders: readers,
    views: [
      buckets("rpc.server.duration", LATENCY_BUCKETS),
      buckets("db.client.operation.duration", LATENCY_BUCKETS),
      buckets("feedmesh.outbox.relay.delay", AGE_BUCKETS),
      buckets("feedmesh.event.consume.lag", AGE_BUCKETS),
      buckets("feedmesh.event.delivery", AGE_BUCKETS),
    ],
    instrumentations: [
      new CassandraDriverInstrumentation(),
      // Spans inside a trace only (no root span per health ping), with the command but not its
      // arguments (they hold users' content: captions, comments).
      new RedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new AwsInstrumentation({ suppressInternalInstrumentation: true }),
      new RuntimeNodeInstrumentation(),
    ],
  });
  sdk.start();
}

/** Prometheus unit suffixes of the OpenTelemetry units in use. */
const SUFFIX: Record<string, string> = { s: "seconds", ms: "milliseconds", By: "bytes", "1": "ratio" };

/**
 * The metrics with their unit in their names, as Prometheus names them (rpc.server.duration in s:
 * rpc_server_duration_seconds); the exporter's serializer does not add it. Ratios: gauges only.
 */
function withUnits(rm: ResourceMetrics): ResourceMetrics {
  const named = (m: MetricData): MetricData => {
    const suffix = SUFFIX[m.descriptor.unit];
    if (!suffix || m.descriptor.name.endsWith(suffix) || (suffix === "ratio" && m.dataPointType !== DataPointType.GAUGE)) return m;
    return { ...m, descriptor: { ...m.descriptor, name: `${m.descriptor.name}_${suffix}`, unit: suffix } };
  };
  return { ...rm, scopeMetrics: rm.scopeMetrics.map((sm) => ({ ...sm, metrics: sm.metrics.map(named) })) };
}

/** Every metric of this process as Prometheus text (GET /metrics). */
export async function metricsText(): Promise<string> {
  if (!prometheus) return "";
  const { resourceMetrics } = await prometheus.collect();
  return serializer.serialize(withUnits(resourceMetrics));
}

export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
  prometheus = undefined;
}
