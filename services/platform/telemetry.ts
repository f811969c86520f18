// OpenTelemetry: W3C trace context propagation and an async context manager always, and spans
// always recorded, so that logs and events carry real trace ids. Exporters are chosen by the
// standard OTEL_* variables (OTEL_TRACES_EXPORTER=otlp|zipkin|console, OTEL_EXPORTER_OTLP_ENDPOINT,
// ...); none by default, so the embedded mode needs no collector.
import { NodeSDK } from "@opentelemetry/sdk-node";

let sdk: NodeSDK | undefined;

/** Records spans without exporting them (when no exporter is configured). */
const recordOnly = {
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

export function startTelemetry(serviceName: string): void {
  if (sdk) return;
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
  process.env.OTEL_SERVICE_NAME ??= serviceName;
  const exporter = process.env.OTEL_TRACES_EXPORTER ?? "none";
  sdk = new NodeSDK({ instrumentations: [], ...(exporter === "none" ? { spanProcessors: [recordOnly] } : {}) });
  sdk.start();
}

export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}
