// feedmesh: one program, many targets. `--target=all` (the default) runs every service in one
// process on the embedded adapters; `--target=<service>` runs one service (microservices mode).

import { MODULES } from "./modules.js";
import { startApp } from "./platform/app.js";
import { ConfigError, loadConfig, TARGETS } from "./platform/config.js";
import { stopTelemetry } from "./platform/telemetry.js";

const USAGE = `usage: feedmesh [--target=${TARGETS.join("|")}]
Configuration comes from FEEDMESH_* environment variables (see docs/operations.md).`;

async function main(argv: string[]): Promise<void> {
  const env = { ...process.env };
  for (const arg of argv) {
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return;
    }
    const m = /^--target=(.*)$/.exec(arg);
    if (m) env.FEEDMESH_TARGET = m[1];
    else {
      console.error(`feedmesh: unknown argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`feedmesh: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const app = await startApp(config, MODULES).catch((err: Error) => {
    console.error(`feedmesh: ${err.message}`);
    process.exit(1);
  });
  const { httpPort, grpcPort } = app.server;
  app.runtime.log.info({ http: httpPort, grpc: grpcPort, target: config.FEEDMESH_TARGET }, "feedmesh is ready");
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second signal: stop now
    app.runtime.log.info({ signal }, "signal received, draining");
    void app
      .stop()
      .then(stopTelemetry)
      .then(() => process.exit(0));
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

await main(process.argv.slice(2));
