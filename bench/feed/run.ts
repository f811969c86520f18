// make bench: feedmesh on the real stack (Cassandra, Kafka, Redis) under the DeathStarBench mix
// on Reed98 and on a skewed graph, with the ceilings (echo on both RPC stacks, raw Cassandra
// writes, Redis' own rate) and the naive pull (PostgreSQL, raw and behind grpc-js) measured in
// the same run; post-to-feed visibility; cost curves as SVG. Ends with the table of ratios and
// writes bench/results/feed.json (and docs/bench/*.svg). After the workloads: the read model's
// Redis memory by key family, its page read as one script and as single-key commands (the Redis
// Cluster variant), and home-feed reads after FLUSHDB of the bench's Redis database (the
// cold path) against the same reads warm. Then the telemetry overhead (issue 14): the system
// restarted with telemetry off, on at 1% and at 100% sampling exported to Zipkin, and at 100% with
// no exporter, server CPU per home-feed read and per echo at one fixed rate (telemetry.ts). Last,
// the goals of issue 12, with the fan-out rate against the previous run's feed.json.
// Method: docs/benchmarks.md.
//   node --import tsx bench/feed/run.ts [--smoke]
// --smoke: tiny graphs, a second per step, no ghz, PostgreSQL only when installed; exits non-zero
// on any failed call. Environment: the FEEDMESH_* addresses of scripts/infra/infra.sh env,
// FEEDMESH_BENCH_PG_URL (scripts/infra/postgres.sh env), BENCH_CPU_PROF=1 (profile the server),
// BENCH_FANOUT_SIZES (follower counts of the fan-out curve, e.g. 10,1000), BENCH_ONLY=curves (skip
// the workloads, the pull and the ceilings: for trying the curves alone), BENCH_ONLY=reads (of the
// workloads only the home-feed reads: for profiling them), BENCH_STEP (seconds per step),
// BENCH_REED_USERS and BENCH_SKEW_USERS (smaller graphs, for a rehearsal), BENCH_SETTLE_TIMEOUT
// (seconds to wait for the fan-out to settle before going on; 600). The system under test runs
// with telemetry as the OTEL_* environment says (by default: on, every trace sampled, no exporter),
// except in the telemetry step, which sets it per setting.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { echo, ghz, ghzEcho, ghzPath, rawCassandraWrites, redisMemory, redisRates } from "./baselines.js";
import { type ColdWarm, coldReads, flushBenchDb } from "./cold.js";
import { celebrityCurve, fanoutCurve } from "./curves.js";
import { cassandraClient, expectedEntries, type Loaded, loadGraph, mintTokens } from "./data.js";
import { issue12Goals, readPrevious } from "./goals.js";
import { benchGraphs, stats } from "./graphs.js";
import type { LoadResult, LoadSpec } from "./load.js";
import { instanceMemory, readModelMemory } from "./memory.js";
import { plots } from "./plots.js";
import { cpuMicros, killAll, Lines, root, say, spawnTs, stop } from "./proc.js";
import { summarize as summarizeProfile } from "./profile.js";
import { ensureDatabase, loadPostgres, pgbenchScript, postgresUrl, runPgbench } from "./pull.js";
import { type Figures, report } from "./report.js";
import { type PageVariants, pageVariants } from "./split.js";
import { createPosts, deleteTopics, freshStores, type Sut, type SutEnv, startSut } from "./system.js";
import { type TelemetryFigures, telemetryOverhead } from "./telemetry.js";
import { visibilityProbes } from "./visibility.js";

const smoke = process.argv.includes("--smoke");
const T0 = performance.now();
const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-feed-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));

const THRESHOLD = smoke ? 12 : 400;
const SEED = 20261123;
let STEP = Number(process.env.BENCH_STEP ?? (smoke ? 1 : 10)); // seconds per measured step
const WARM = smoke ? 0.5 : 3;
const redisUrl = (process.env.FEEDMESH_REDIS_URL ?? "redis://127.0.0.1:16379").replace(/\/\d*$/, "");
const env: SutEnv = {
  contactPoints: process.env.FEEDMESH_CASSANDRA_CONTACT_POINTS ?? "127.0.0.1:19042",
  keyspace: smoke ? "feedmesh_bench_smoke" : "feedmesh_bench",
  kafka: process.env.FEEDMESH_KAFKA_BROKERS ?? "127.0.0.1:19092",
  topicPrefix: `fmbench${smoke ? "smoke" : ""}${Date.now().toString(36)}.`,
  redisUrl,
  redisDb: smoke ? 12 : 11,
  threshold: THRESHOLD,
  modules: process.env.BENCH_MODULES ?? "identity,graph,post,feed,fanout,engagement",
};
const failures: string[] = [];
// The previous run's figures, before this run overwrites them (the fan-out rate must not drop).
const previous = readPrevious(path.join(root, "bench/results/feed.json"));
const elapsed = () => `${((performance.now() - T0) / 60_000).toFixed(1)} min`;
const phase = (name: string) => say(`==== ${name} (${elapsed()} into the run)`);

/**
 * Runs a load child; with serverPid, the server's CPU per call. opts.idleUsPerS: the idle rate to
 * deduct (default: the system under test's, measured once loaded); opts.perCallStarted: per call
 * started, warm-up included (the CPU is the whole step's), instead of the measured rate × the wall time.
 */
async function runLoadChild(
  spec: Omit<LoadSpec, "seed">,
  label: string,
  serverPid?: number,
  opts: { idleUsPerS?: number; perCallStarted?: boolean } = {},
): Promise<LoadResult & { serverCpuUsPerCall: number; serverCpuUs: number }> {
  const file = path.join(tmp, `spec-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ ...spec, seed: SEED }));
  const cpu0 = cpuMicros(serverPid);
  const wall0 = performance.now();
  const child = spawnTs("load.ts", [file]);
  const { result } = await new Lines(child, `load ${label}`).next<{ result: LoadResult }>(
    "result",
    (spec.warmup + spec.seconds + 120) * 1000,
  );
  await stop(child);
  // The server's CPU (all its threads) during the child's whole run, less its idle background
  // (the outbox relay's polling, Kafka heartbeats), per call at the measured rate.
  const wallS = (performance.now() - wall0) / 1000;
  const idleUs = (opts.idleUsPerS ?? (serverPid === idle.pid ? idle.usPerS : 0)) * wallS;
  const busyUs = cpuMicros(serverPid) - cpu0 - idleUs;
  const serverCpuUsPerCall = opts.perCallStarted
    ? Math.max(0, busyUs) / Math.max(1, result.calls)
    : result.all.rps > 0
      ? Math.max(0, busyUs) / (result.all.rps * wallS)
      : 0;
  const ops = Object.entries(result.ops)
    .map(([op, s]) => `${op} p50 ${s.p50.toFixed(1)} p90 ${s.p90.toFixed(1)} p99 ${s.p99.toFixed(1)} p99.9 ${s.p999.toFixed(1)} ms`)
    .join(", ");
  const cpu =
    (serverPid ? `, server CPU ${Math.round(serverCpuUsPerCall)} µs/call` : "") +
    (result.homeItems !== undefined ? `, ${result.homeItems.toFixed(1)} items/page` : "");
  say(
    `${label}: ${Math.round(result.all.rps)} req/s (${ops})${cpu}${result.all.errors ? `, ${result.all.errors} ERRORS: ${result.firstError}` : ""}`,
  );
  if (result.all.errors > 0 || result.all.requests === 0)
    failures.push(
      `${label}: ${result.all.errors} errors of ${result.all.requests + result.all.errors}: ${result.firstError ?? "no calls"}`,
    );
  return { ...result, serverCpuUsPerCall, serverCpuUs: Math.max(0, busyUs) };
}

/** The system under test's CPU use while idle (µs per second), measured once it is loaded. */
const idle = { pid: undefined as number | undefined, usPerS: 0 };

/** startSut, retried twice: Kafka sometimes answers a topic's metadata before the topic exists
 * (UNKNOWN_TOPIC_OR_PARTITION while the server creates its topics). */
async function startSutRetried(nodeArgs: string[] = [], extra: Record<string, string> = {}): Promise<Sut> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSut(env, nodeArgs, extra);
    } catch (err) {
      if (attempt === 3) throw err;
      say(`feedmesh did not start (${(err as Error).message}); trying again`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

const MIX = { home: 60, timeline: 30, post: 10 };
const HOME = { home: 1, timeline: 0, post: 0 };

async function main() {
  const g = benchGraphs(smoke, THRESHOLD, SEED);
  for (const [name, gr] of [
    ["reed98", g.reed],
    ["skewed", g.skew],
  ] as const)
    say(`${name}: ${JSON.stringify(stats(gr, THRESHOLD))}`);
  const cpuProf: string[] = [];

  phase("fresh stores, start feedmesh");
  await freshStores(env);
  const startMemory = await instanceMemory(redisUrl, env.redisDb);
  const sut = await startSutRetried(cpuProf);
  const otel = ["OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_TRACES_EXPORTER"]
    .map((k) => `${k}=${process.env[k] ?? "(unset)"}`)
    .join(" ");
  say(`feedmesh runs with telemetry as the environment says: ${otel}`);
  const pid = sut.child.pid;
  const cql = cassandraClient(env.contactPoints, env.keyspace);
  await cql.connect();

  phase("load the graphs (bulk) and the posts (CreatePost)");
  const loaded: Loaded[] = [];
  const loads: Record<string, Awaited<ReturnType<typeof createPosts>>> = {};
  for (const [gr, prefix] of [
    [g.reed, "r98_"],
    [g.skew, "skw_"],
  ] as const) {
    const l0 = await loadGraph(cql, gr, THRESHOLD, prefix);
    const l: Loaded = { ...l0, tokens: await mintTokens(cql, "feedmesh", l0.ids), posts: [] };
    const authors = [...gr.posts].flatMap((k, u) => Array<number>(k).fill(u));
    loads[gr.name] = await createPosts(sut, l, SEED, smoke ? 8 : 32, expectedEntries(l, authors));
    loaded.push(l);
  }
  const [reed, skew] = loaded as [Loaded, Loaded];
  for (const l of loaded)
    writeFileSync(path.join(tmp, `${l.graph.name}.users.json`), JSON.stringify({ ids: l.ids, tokens: l.tokens, pgIds: [] }));
  const usersFile = (l: Loaded) => path.join(tmp, `${l.graph.name}.users.json`);
  idle.pid = pid;
  const c0 = cpuMicros(pid);
  await new Promise((r) => setTimeout(r, (smoke ? 1 : 5) * 1000));
  idle.usPerS = (cpuMicros(pid) - c0) / (smoke ? 1 : 5);
  say(`feedmesh idle (background work only): ${(idle.usPerS / 1e4).toFixed(1)}% of a core`);
  if (!smoke && performance.now() - T0 > 12 * 60_000 && STEP > 6) {
    // The run must end within 30 minutes: after a slow load, shorter steps.
    say(`${elapsed()} into the run after loading: measured steps of 6 s instead of ${STEP} s, to end within 30 minutes`);
    STEP = 6;
  }
  const curveActors = new Set([...g.curveReaders.values()].flat());
  const skewActors = [...skew.ids.keys()].filter((u) => !curveActors.has(u));

  phase("workloads: the DeathStarBench mix, closed loop at rising concurrency, then open loop");
  const levels = smoke ? [2, 8] : [1, 4, 16, 64];
  const work: Figures["work"] = {};
  const visibility: Figures["visibility"] = [];
  const profiles: Record<string, string> = {};
  const only = process.env.BENCH_ONLY;
  for (const l of only === "curves" ? [] : loaded) {
    const actors = l === skew ? skewActors : undefined;
    const base = {
      kind: "feedmesh" as const,
      target: sut.grpc,
      usersFile: usersFile(l),
      warmup: WARM,
      seconds: STEP,
      rate: 0,
      ...(actors ? { actors } : {}),
    };
    // Steady state: every reader read once before anything is measured, so the measured reads are
    // those of active readers, whose feeds are cached (a reader's first read, the cold path, is
    // measured apart after a FLUSHDB: "Cold read model").
    await runLoadChild(
      { ...base, mix: HOME, mode: "closed", concurrency: 16, sequence: "once", warmup: 0, seconds: 900 },
      `${l.graph.name} warming up: each reader's first home-feed read (not measured)`,
      pid,
    );
    const closed = [];
    for (const c of only === "reads" ? [] : levels)
      closed.push({
        c,
        ...(await runLoadChild({ ...base, mix: MIX, mode: "closed", concurrency: c }, `${l.graph.name} mix closed c=${c}`, pid)),
      });
    const max = Math.max(...closed.map((r) => r.all.rps));
    const open = [];
    for (const f of only === "reads" ? [] : smoke ? [0.5] : [0.25, 0.5, 0.75]) {
      const rate = Math.max(1, Math.round(max * f));
      open.push({
        rate,
        fraction: f,
        ...(await runLoadChild(
          { ...base, mix: MIX, mode: "open", concurrency: 0, rate },
          `${l.graph.name} mix open ${rate}/s (${f} of max)`,
          pid,
        )),
      });
    }
    if (only !== "reads") {
      // Post → feed visibility under the same half load, in a step of its own (twice as long):
      // the probes' own reads add load, so this step's latencies are not the half-load figures.
      const rate = Math.max(1, Math.round(max * 0.5));
      const run = runLoadChild(
        { ...base, mix: MIX, mode: "open", concurrency: 0, rate, seconds: 2 * STEP },
        `${l.graph.name} mix open ${rate}/s (0.5 of max) with the visibility probes`,
        pid,
      );
      await new Promise((r) => setTimeout(r, WARM * 1000));
      visibility.push(...(await visibilityProbes(sut, cql, l, curveActors, STEP)));
      await run;
    }
    const before = await sut.stats();
    const home16 = await runLoadChild({ ...base, mix: HOME, mode: "closed", concurrency: 16 }, `${l.graph.name} home feed only, c=16`, pid);
    const after = await sut.stats();
    const paths = Object.entries(after)
      .map(([k, v]) => `${k} ${v - (before[k] ?? 0)}`)
      .join(", ");
    say(`${l.graph.name} home feed only, c=16: pages by path (read model hits "fast"; misses by reason): ${paths}`);
    work[l.graph.name] = { closed, open, home16 };
    if (!smoke || process.env.BENCH_CPU_PROF === "1") {
      // Where the time of a home-feed read goes: the same load again, with the server's profiler on.
      const dir = path.join(root, "bench/results/profiles");
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `home-${l.graph.name}.cpuprofile`);
      const profiled = await sut.profile(file, () =>
        runLoadChild({ ...base, mix: HOME, mode: "closed", concurrency: 16 }, `${l.graph.name} home feed only, c=16, profiled`, pid),
      );
      profiles[`home-feed reads on ${l.graph.name}, c=16`] = summarizeProfile(file, 12, profiled.all.rps * (WARM + STEP));
      say(`${l.graph.name}: where a home-feed read's server time goes (${path.relative(root, file)}):\n${Object.values(profiles).at(-1)}`);
    }
  }

  // The read model as the workloads left it; then its cold path, graph by graph.
  const modelMemory = only === "curves" ? undefined : await readModelMemory(redisUrl, env.redisDb, startMemory);
  const variants: PageVariants[] = [];
  for (const l of only === "curves" ? [] : loaded) {
    if (l === loaded[0]) phase("the read model's page: one script vs split into single-key commands (the Redis Cluster variant)");
    const readers = (l === skew ? skewActors : [...l.ids.keys()]).map((u) => l.ids[u]!);
    const v = await pageVariants(l.graph.name, redisUrl, env.redisDb, readers, smoke ? 2 : STEP, SEED);
    if (v.differed > 0)
      failures.push(`${l.graph.name}: the split page differed from the script's for ${v.differed} of ${v.compared} readers`);
    variants.push(v);
  }
  const cold: Record<string, ColdWarm> = {};
  for (const l of only === "curves" ? [] : loaded) {
    if (l === loaded[0]) phase("the cold read model: FLUSHDB, each reader's first home-feed read, then the same readers warm");
    cold[l.graph.name] = await coldReads(
      l.graph.name,
      l === skew ? skewActors : [...l.ids.keys()],
      STEP,
      SEED,
      () => flushBenchDb(redisUrl, env.redisDb),
      (spec, label) =>
        runLoadChild(
          {
            kind: "feedmesh",
            target: sut.grpc,
            usersFile: usersFile(l),
            warmup: 0,
            rate: 0,
            mix: HOME,
            mode: "closed",
            concurrency: 16,
            ...spec,
          },
          label,
          pid,
        ),
    );
  }

  phase("naive pull on PostgreSQL: raw SQL and behind grpc-js");
  const pull: Figures["pull"] = {};
  const pgUrl = only === "curves" ? undefined : await postgresUrl(smoke);
  if (pgUrl) {
    const url = await ensureDatabase(pgUrl, smoke ? "feedmesh_bench_smoke" : "feedmesh_bench");
    const pgIds = await loadPostgres(url, loaded);
    const jwk = (await cql.execute("SELECT public_jwk FROM identity_signing_keys LIMIT 1")).first()!.public_jwk;
    const all = { ids: loaded.flatMap((l) => l.ids), pgIds: pgIds.flat(), jwk: JSON.parse(jwk) };
    writeFileSync(path.join(tmp, "pull.json"), JSON.stringify(all));
    const server = spawnTs("pull-server.ts", [path.join(tmp, "pull.json")], { FEEDMESH_BENCH_PG_URL: url });
    const port = (await new Lines(server, "pull server").next<{ grpc: number }>("ready", 60_000)).grpc;
    for (const [i, l] of loaded.entries()) {
      writeFileSync(usersFile(l), JSON.stringify({ ids: l.ids, tokens: l.tokens, pgIds: pgIds[i] }));
      const actors = l === skew ? { actors: skewActors } : {};
      const common = {
        usersFile: usersFile(l),
        warmup: WARM,
        seconds: STEP,
        rate: 0,
        mix: HOME,
        mode: "closed" as const,
        concurrency: 16,
        ...actors,
      };
      const sql = await runLoadChild({ ...common, kind: "sql", target: url }, `${l.graph.name} naive pull, raw SQL (pg), c=16`);
      const stack = await runLoadChild(
        { ...common, kind: "pull", target: `127.0.0.1:${port}` },
        `${l.graph.name} naive pull behind grpc-js, c=16`,
        server.pid,
      );
      // The readers of the runs above (the skewed graph's curve readers are its last users, left out).
      const ids = (l === skew ? skewActors : [...l.ids.keys()]).map((a) => pgIds[i]![a]!);
      const [lo, hi] = [Math.min(...ids), Math.max(...ids)];
      const script = pgbenchScript(smoke ? tmp : path.join(root, "bench/results"), l.graph.name, lo, hi);
      const pgb = runPgbench(url, script, 16, Math.max(1, Math.round(STEP)));
      if (pgb)
        say(
          `${l.graph.name} pgbench${smoke ? "" : ` -f ${path.relative(root, script)}`} (readers ${lo}..${hi}, c=16): ${Math.round(pgb.tps)} tps, ${pgb.latencyMs} ms average`,
        );
      pull[l.graph.name] = { sql, stack, pgbench: pgb };
    }
    await stop(server);
  } else say("naive pull skipped: PostgreSQL is not installed (scripts/infra/postgres.sh install)");

  phase("ceilings: echo on grpc-js and connect-node, ghz, raw Cassandra writes, Redis");
  const echoes = only === "curves" ? [] : await echo(16, smoke ? 0 : 1, smoke ? 0.5 : 5);
  const ghzBin = (smoke && process.env.BENCH_GHZ !== "1") || only === "curves" ? undefined : ghzPath();
  const ghzRows = [];
  if (ghzBin) {
    const ghzSeconds = smoke ? 1 : 5;
    ghzRows.push(...(await ghzEcho(ghzBin, 16, ghzSeconds, tmp)));
    const reader = reed.tokens[0]!;
    ghzRows.push(
      ghz(
        ghzBin,
        "GetHomeFeed (one Reed98 reader)",
        [
          "--protoset",
          path.join(root, "gen/feedmesh.binpb"),
          "--call",
          "feedmesh.feed.v1.FeedService/GetHomeFeed",
          "-d",
          '{"page_size":10}',
          "--metadata",
          JSON.stringify({ authorization: `Bearer ${reader}` }),
        ],
        16,
        ghzSeconds,
        sut.grpc,
      ),
    );
  } else say(smoke ? "ghz: skipped in smoke mode" : "ghz: not installed (bash scripts/infra/ghz.sh install)");
  const raw = await rawCassandraWrites(cql, smoke ? 2000 : 100_000);
  const redis = await redisRates(redisUrl, env.redisDb, 16, smoke ? 2000 : 100_000);

  phase("cost curves: fan-out time vs followers, feed read p99 vs celebrities followed, Redis memory per feed");
  let sizes = process.env.BENCH_FANOUT_SIZES?.split(",").map(Number) ?? (smoke ? [10, 100] : [10, 100, 1000, 10_000, 100_000]);
  if (!smoke && performance.now() - T0 > 22 * 60_000) {
    // The run must end within 30 minutes: on a machine this busy, the largest fan-out is left out.
    say(`${elapsed()} into the run: the fan-out curve stops at 10,000 followers to end within 30 minutes`);
    sizes = sizes.filter((n) => n <= 10_000);
  }
  const fanoutProfile =
    smoke && process.env.BENCH_CPU_PROF !== "1" ? undefined : path.join(root, "bench/results/profiles/fanout.cpuprofile");
  const fanout = await fanoutCurve(sut, cql, sizes, fanoutProfile);
  if (fanoutProfile) {
    const n = Math.max(...sizes);
    profiles[`fan-out of one post to ${n.toLocaleString("en")} followers`] = summarizeProfile(fanoutProfile, 12, n / 1000, "1k entries");
    say(`where the fan-out's server time goes:\n${Object.values(profiles).at(-1)}`);
  }
  const celeb = await celebrityCurve(g.curveReaders, (actors, c, label) =>
    runLoadChild(
      {
        kind: "feedmesh",
        target: sut.grpc,
        usersFile: usersFile(skew),
        warmup: WARM / 2,
        seconds: Math.max(1, STEP / 2),
        rate: 0,
        mix: HOME,
        mode: "closed",
        concurrency: c,
        actors,
      },
      label,
      pid,
    ),
  );
  const memory = await redisMemory(redisUrl, env.redisDb, [10, 50, 100, 200, 500]);

  await sut.close();

  // Telemetry overhead: the same stores and readers, the server restarted once per setting.
  let telemetry: TelemetryFigures | undefined;
  if (only !== "curves") {
    const late = !smoke && performance.now() - T0 > 25 * 60_000;
    if (late) say(`${elapsed()} into the run: the telemetry step leaves out "100%, no exporter" to end within 30 minutes`);
    // A smoke run: off and 100% only (each setting is a server start); a late run: no "100%, no exporter".
    const settings = smoke ? ["off", "100pct"] : late ? ["off", "1pct", "100pct"] : ["off", "1pct", "100pct", "100pct-none"];
    phase(`telemetry overhead: the server restarted for each of ${settings.join(", ")}; CPU per read and per echo at one rate`);
    const half = work[reed.graph.name]?.open.find((o) => o.fraction === 0.5)?.rate;
    telemetry = await telemetryOverhead({
      smoke,
      graph: reed.graph.name,
      usersFile: usersFile(reed),
      rate: half ?? (smoke ? 50 : 200),
      rateFrom: half ? `half the maximum of the ${reed.graph.name} mix, as the other open-loop steps` : "a fixed rate",
      warmup: smoke ? 0.5 : 2,
      seconds: smoke ? 1 : Math.min(STEP, 8),
      idleSeconds: smoke ? 1 : 3,
      scrapes: smoke ? 3 : 20,
      settings,
      warmReaders: !smoke,
      start: (extra) => startSutRetried([], extra),
      run: (spec, label, serverPid, idleUsPerS) => runLoadChild(spec, label, serverPid, { idleUsPerS, perCallStarted: true }),
      failures,
    });
  }
  await cql.shutdown();
  await deleteTopics(env.kafka, env.topicPrefix);

  const figures: Figures = {
    profiles,
    smoke,
    threshold: THRESHOLD,
    graphs: Object.fromEntries(loaded.map((l) => [l.graph.name, stats(l.graph, THRESHOLD)])),
    loads,
    work,
    visibility,
    pull,
    echoes,
    ghz: ghzRows,
    raw,
    redis,
    fanout,
    celeb,
    memory,
    ...(modelMemory ? { modelMemory } : {}),
    cold,
    variants,
    ...(telemetry ? { telemetry } : {}),
    previous,
    goals: [],
  };
  figures.goals = issue12Goals(figures, previous);
  const out = report(figures);
  process.stdout.write(`\n${out}\n`);
  if (!smoke) {
    const file = path.join(root, "bench/results/feed.json");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, minutes: (performance.now() - T0) / 60_000, ...figures, failures }, null, 2)}\n`,
    );
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
  }
  if (!smoke) plots(path.join(root, "docs/bench"), fanout, celeb, memory); // a smoke run's curves are too small to draw
}

try {
  await main();
} catch (err) {
  failures.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
} finally {
  killAll();
}
say(`done in ${elapsed()}`);
if (failures.length > 0) {
  process.stderr.write(`bench: FAILED\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
  process.exit(1);
}
process.exit(0);
