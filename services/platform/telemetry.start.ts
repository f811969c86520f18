// Imported first by services/main.ts: OpenTelemetry starts before any client library loads, so
// the instrumentations can patch them (telemetry.ts). The service name is feedmesh-<target>.
import { startTelemetry } from "./telemetry.js";

const arg = process.argv.find((a) => a.startsWith("--target="));
startTelemetry(`feedmesh-${arg ? arg.slice("--target=".length) : (process.env.FEEDMESH_TARGET ?? "all")}`);
