// feedmesh: one program, many targets. `--target=all` (the default) runs every service in one
// process on the embedded adapters; `--target=<service>` runs one service (microservices mode).

import "./platform/telemetry.start.js"; // first: the instrumentations patch the clients as they load
import { rebuildReadModel } from "./feed/rebuild.js";
import { MODULES } from "./modules.js";
import { startApp } from "./platform/app.js";
import { ConfigError, loadConfig, TARGETS } from "./platform/config.js";
import { stopTelemetry } from "./platform/telemetry.js";

const USAGE = `usage: feedmesh [--target=${TARGETS.join("|")}]
       feedmesh rebuild-read-model [--grpc=host:port] [--concurrency=N] [--pages=N]
Configuration comes from FEEDMESH_* environment variables (see docs/operations.md).`;

/** Reads a config for a command, or exits with its error. */
function configOf(env: NodeJS.ProcessEnv): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`feedmesh: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

/** feedmesh rebuild-read-model: every user's first home-feed pages, read from a running feed target. */
async function rebuild(argv: string[]): Promise<void> {
  const config = configOf(process.env);
  const opts = { grpc: config.FEEDMESH_FEED_ADDR ?? config.FEEDMESH_GRPC_ADDR, concurrency: 8, pages: 1 };
  for (const arg of argv) {
    const m = /^--(grpc|concurrency|pages)=(.+)$/.exec(arg);
    if (!m || (m[1] !== "grpc" && !/^[1-9]\d{0,3}$/.test(m[2]!))) {
      console.error(`feedmesh: bad argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
    if (m[1] === "grpc") opts.grpc = m[2]!;
    else opts[m[1] as "concurrency" | "pages"] = Number(m[2]);
  }
  const result = await rebuildReadModel(config, { ...opts, progress: (line) => process.stderr.write(`${line}\n`) });
  console.log(JSON.stringify(result));
  process.exit(result.failed > 0 ? 1 : 0);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "rebuild-read-model") return rebuild(argv.slice(1));
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
  const config = configOf(env);
  const app = await startApp(config, MODULES).catch((err: Error) => {
    console.error(`feedmesh: ${err.message}`);
    process.exit(1);
  });
  // One line with the addresses as they are dialled (the target is in every line already).
  app.runtime.log.info({ http: app.server.httpAddr, grpc: app.server.grpcAddr }, "feedmesh is ready");
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
