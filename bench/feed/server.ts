// The system under test, in its own process (started by run.ts): the feed path's modules
// (identity, graph, post, feed, fanout, engagement) in one process on Cassandra, Kafka and Redis, as
// test/feed.real.test.ts runs them. Configuration comes from the FEEDMESH_* environment run.ts
// sets (its own keyspace, topic prefix and Redis database). Prints {"ready":true,"grpc":…,"http":…};
// then answers commands on stdin, one JSON line each:
//   settle               waits until every event written so far is relayed and consumed: {"settled":ms}
//   profile-start        starts the V8 CPU profiler (node:inspector): {"profiling":true}
//   profile-stop <file>  stops it and writes the .cpuprofile: {"profiled":"<file>"}
//   stats                which path served the home-feed reads so far: {"stats":{fast,slow,...}}
// Exits on SIGTERM or when stdin closes (the parent went away).
// Telemetry starts first, as in services/main.ts: the instrumentations patch cassandra-driver,
// node-redis and the AWS SDK as they load, so the bench measures what production runs. The
// OTEL_* environment configures it (OTEL_SDK_DISABLED=true: off; bench/feed/telemetry.ts).
import "../../services/platform/telemetry.start.js";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { Kafka, logLevel } from "kafkajs";
import { feedReaderOf } from "../../services/feed/index.js";
import { MODULES } from "../../services/modules.js";
import { startApp } from "../../services/platform/app.js";
import { loadConfig } from "../../services/platform/config.js";
import { stopTelemetry } from "../../services/platform/telemetry.js";

// BENCH_MODULES: which modules run (default: the feed path and engagement, whose counters the
// feed items carry).
const names = (process.env.BENCH_MODULES ?? "identity,graph,post,feed,fanout,engagement").split(",") as (keyof typeof MODULES)[];
const app = await startApp(loadConfig(process.env), Object.fromEntries(names.map((n) => [n, MODULES[n]])));
process.stdout.write(`${JSON.stringify({ ready: true, grpc: app.server.grpcPort, http: app.server.httpPort })}\n`);

/** The fanout's consumer lag on the posts topic, in events (the bus's own naming: prefix + "feedmesh." + group). */
async function lag(): Promise<string> {
  const prefix = process.env.FEEDMESH_KAFKA_TOPIC_PREFIX ?? "";
  const admin = new Kafka({
    brokers: (process.env.FEEDMESH_KAFKA_BROKERS ?? "127.0.0.1:19092").split(","),
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const topic = `${prefix}posts`;
    const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const [committed] = await admin.fetchOffsets({ groupId: `${prefix}feedmesh.fanout`, topics: [topic] });
    const behind = (committed?.partitions ?? []).reduce((n, p) => n + (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset)), 0);
    return `the fanout is ${behind} post events behind`;
  } catch (err) {
    return `lag unknown: ${(err as Error).message}`;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const hard = setTimeout(() => process.exit(0), 15_000);
  hard.unref();
  // stopTelemetry: the last batch of spans is exported (as services/main.ts does on SIGTERM).
  void app
    .stop()
    .then(stopTelemetry)
    .finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
const inspector = new Session();
createInterface({ input: process.stdin })
  .on("line", async (line) => {
    const [cmd, arg] = line.trim().split(" ");
    if (cmd === "settle") {
      const t0 = performance.now();
      // Progress while the fan-out catches up; settled() itself gives up after a minute behind.
      const ticker = setInterval(async () => {
        process.stderr.write(`bench: settling for ${Math.round((performance.now() - t0) / 1000)} s: ${await lag()}\n`);
      }, 10_000);
      // Capped: a consumer that keeps losing its group membership never settles (docs/benchmarks.md).
      const cap = Number(process.env.BENCH_SETTLE_TIMEOUT ?? 600) * 1000;
      for (;;) {
        if (performance.now() - t0 > cap) {
          process.stderr.write(`bench: GAVE UP settling after ${cap / 1000} s: ${await lag()}\n`);
          break;
        }
        try {
          await app.backends.settled();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 1000)); // still behind (or a store hiccup): wait on
        }
      }
      clearInterval(ticker);
      process.stdout.write(`${JSON.stringify({ settled: performance.now() - t0 })}\n`);
    } else if (cmd === "stats") {
      // Which path served the home-feed reads so far (services/feed/read.ts).
      process.stdout.write(`${JSON.stringify({ stats: feedReaderOf(app.runtime)?.served ?? null })}\n`);
    } else if (cmd === "profile-start") {
      inspector.connect();
      await inspector.post("Profiler.enable");
      await inspector.post("Profiler.start");
      process.stdout.write(`${JSON.stringify({ profiling: true })}\n`);
    } else if (cmd === "profile-stop" && arg) {
      const { profile } = await inspector.post("Profiler.stop");
      writeFileSync(arg, JSON.stringify(profile));
      inspector.disconnect();
      process.stdout.write(`${JSON.stringify({ profiled: arg })}\n`);
    }
  })
  .on("close", stop);
