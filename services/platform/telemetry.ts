// OpenTelemetry: W3C trace context propagation and an async context manager always; spans are
// recorded so that logs carry trace ids. Exporters are chosen by the standard OTEL_* variables
// (OTEL_TRACES_EXPORTER=otlp|zipkin|console|none, OTEL_EXPORTER_OTLP_ENDPOINT, ...); none by
// default, so the embedded mode needs no collector.
import { NodeSDK } from "@opentelemetry/sdk-node";

let sdk: NodeSDK | undefined;

export function startTelemetry(serviceName: string): void {
  if (sdk) return;
  process.env.OTEL_TRACES_EXPORTER ??= "none";
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
  process.env.OTEL_SERVICE_NAME ??= serviceName;
  sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
}

export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}
