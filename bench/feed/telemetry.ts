// Telemetry overhead (issue 14): the system under test started afresh once per telemetry setting
// (off; on with 1% of the traces sampled and exported to Zipkin; on with 100% exported; on with
// 100% and no exporter), each measured the same way at the same fixed rate, well below the
// maximum: server CPU per home-feed read and per echo (grpc.health.v1 Health/Check, which does
// nothing but pass the platform's interceptors), their p50 and p99, and the cost of a GET /metrics.
// The settings are the standard OTEL_* variables services/platform/telemetry.ts reads; every span
// is recorded whatever the sampler says, sampled ones are exported.
import { execFileSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { LoadResult, LoadSpec, Op } from "./load.js";
import { f1, f2, n0, table } from "./md.js";
import { cpuMicros, root, say, sleep } from "./proc.js";
import type { Sut } from "./system.js";

export interface TelemetrySetting {
  key: string;
  label: string;
  sampled: string;
  /** The share of new traces sampled (0: telemetry off). */
  share: number;
  exporter: string;
  env: Record<string, string>;
}

export interface TelemetryStep {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Calls started in the step, warm-up included. */
  calls: number;
  /** The server's CPU over the step (all threads, less its idle rate), per call started. */
  cpuUsPerCall: number;
}

export interface TelemetryRow {
  key: string;
  label: string;
  sampled: string;
  share: number;
  exporter: string;
  /** The server's CPU while idle (µs per second): the relay's polling, Kafka heartbeats, and their spans. */
  idleUsPerS: number;
  read: TelemetryStep;
  echo: TelemetryStep;
  scrape: { scrapes: number; cpuUsPerScrape: number; msPerScrape: number; bytes: number; series: number };
  /** The data stores with client-call metrics (from the instrumentations' spans): cassandra, redis. */
  dataStores: string[];
  /** Whether the setting's spans reached the exporter's endpoint (undefined: no exporter). */
  exported?: boolean;
}

export interface TelemetryFigures {
  smoke: boolean;
  graph: string;
  /** Calls per second of every measured step. */
  rate: number;
  rateFrom: string;
  warmup: number;
  seconds: number;
  echoRpc: string;
  /** Where the exported spans went. */
  sink: string;
  rows: TelemetryRow[];
}

type Step = LoadResult & { serverCpuUsPerCall: number; serverCpuUs: number };

export interface TelemetryOptions {
  smoke: boolean;
  graph: string;
  usersFile: string;
  actors?: number[];
  rate: number;
  rateFrom: string;
  warmup: number;
  seconds: number;
  idleSeconds: number;
  scrapes: number;
  /** The settings to measure, in this order: off, 1pct, 100pct, 100pct-none (telemetrySettings). */
  settings: string[];
  /** Each reader's first read on each new server, unmeasured (tokens verified, code compiled). */
  warmReaders: boolean;
  start: (env: Record<string, string>) => Promise<Sut>;
  /** runLoadChild of run.ts: the server's CPU per call started, less `idleUsPerS`. */
  run: (spec: Omit<LoadSpec, "seed">, label: string, pid: number, idleUsPerS: number) => Promise<Step>;
  failures: string[];
}

const ECHO_RPC = "grpc.health.v1.Health/Check";

export function telemetrySettings(endpoint: string): TelemetrySetting[] {
  const on = (key: string, sampler: Record<string, string>, exporter: Record<string, string>) => ({
    OTEL_SDK_DISABLED: "false",
    // its own service name, so that its spans can be told apart (and found) in Zipkin
    OTEL_SERVICE_NAME: `feedmesh-bench-${key}`,
    OTEL_METRICS_EXPORTER: "none", // /metrics only (no OTLP push), as by default
    ...sampler,
    ...exporter,
  });
  const zipkin = { OTEL_TRACES_EXPORTER: "zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: endpoint };
  const all = { OTEL_TRACES_SAMPLER: "parentbased_always_on", OTEL_TRACES_SAMPLER_ARG: "1" };
  return [
    { key: "off", label: "off", sampled: "-", share: 0, exporter: "-", env: { OTEL_SDK_DISABLED: "true" } },
    {
      key: "1pct",
      label: "1% → Zipkin",
      sampled: "1% (parentbased_traceidratio 0.01)",
      share: 0.01,
      exporter: "zipkin",
      env: on("1pct", { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01" }, zipkin),
    },
    {
      key: "100pct",
      label: "100% → Zipkin",
      sampled: "100% (parentbased_always_on)",
      share: 1,
      exporter: "zipkin",
      env: on("100pct", all, zipkin),
    },
    {
      key: "100pct-none",
      label: "100%, no exporter",
      sampled: "100% (parentbased_always_on)",
      share: 1,
      exporter: "none",
      env: on("100pct-none", all, { OTEL_TRACES_EXPORTER: "none" }),
    },
  ];
}

interface SpanSink {
  endpoint: string;
  what: string;
  /** Whether spans of `service` arrived since `mark()` (Zipkin: its service list; the stand-in: any bytes). */
  arrived(service: string): Promise<boolean>;
  mark(): void;
  close(): Promise<void>;
}

async function healthy(origin: string): Promise<boolean> {
  try {
    return (await fetch(`${origin}/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/**
 * Where the sampled spans go: the Zipkin of OTEL_EXPORTER_ZIPKIN_ENDPOINT (scripts/infra/zipkin.sh,
 * 127.0.0.1:19411) when it answers; a full run starts the local one when it is not running (and
 * leaves it running); otherwise (a smoke run without Zipkin) a stand-in on loopback that takes the
 * same POSTs and discards them, so the exporter does the same work.
 */
async function spanSink(smoke: boolean): Promise<SpanSink> {
  const endpoint = process.env.OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? "http://127.0.0.1:19411/api/v2/spans";
  const origin = new URL(endpoint).origin;
  let up = await healthy(origin);
  if (!up && !smoke && origin === "http://127.0.0.1:19411") {
    say("Zipkin is not running: starting it (bash scripts/infra/zipkin.sh start; it is left running, zipkin.sh stop stops it)");
    try {
      const out = execFileSync("bash", [path.join(root, "scripts/infra/zipkin.sh"), "start"], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 600_000,
      });
      if (out.trim()) process.stderr.write(`${out.trim()}\n`);
      up = await healthy(origin);
    } catch (err) {
      say(`Zipkin could not be started (${(err as Error).message.split("\n")[0]})`);
    }
  }
  if (up) {
    let since = Date.now();
    return {
      endpoint,
      what: `Zipkin at ${origin}`,
      mark() {
        since = Date.now();
      },
      async arrived(service) {
        // A trace of the service since mark() (earlier runs' spans of the same name do not count).
        // The server exported its last batch when it stopped; Zipkin indexes it a moment later.
        for (let i = 0; i < 10; i++) {
          const now = Date.now();
          const q = new URLSearchParams({
            serviceName: service.toLowerCase(),
            endTs: String(now),
            lookback: String(now - since + 1000),
            limit: "1",
          });
          try {
            const traces = (await (await fetch(`${origin}/api/v2/traces?${q}`)).json()) as unknown[];
            if (traces.length > 0) return true;
          } catch {}
          await sleep(300);
        }
        return false;
      },
      close: async () => {},
    };
  }
  let bytes = 0;
  let marked = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  say(`Zipkin is not running at ${origin}: the spans go to a stand-in on 127.0.0.1:${port} that discards them`);
  return {
    endpoint: `http://127.0.0.1:${port}/api/v2/spans`,
    what: `a stand-in that discards them (Zipkin was not running at ${origin})`,
    mark() {
      marked = bytes;
    },
    async arrived() {
      return bytes > marked;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `n` GET /metrics one after the other: the server's CPU per scrape (less its idle rate), size, series. */
async function scrapeCost(httpAddr: string, pid: number, idleUsPerS: number, n: number) {
  const url = `http://${httpAddr}/metrics`;
  await (await fetch(url)).text(); // the connection, and the first collection
  let text = "";
  const c0 = cpuMicros(pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await fetch(url);
    text = await res.text();
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  }
  const wallS = (performance.now() - t0) / 1000;
  const busyUs = Math.max(0, cpuMicros(pid) - c0 - idleUsPerS * wallS);
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  const stores = new Set(
    lines.flatMap((l) => /^db_client_operation_duration_seconds_count\{[^}]*db_system_name="([^"]+)"/.exec(l)?.[1] ?? []),
  );
  return {
    scrape: {
      scrapes: n,
      cpuUsPerScrape: busyUs / n,
      msPerScrape: (wallS * 1000) / n,
      bytes: Buffer.byteLength(text),
      series: lines.length,
    },
    dataStores: [...stores].sort(),
  };
}

function stepOf(s: Step, op: Op): TelemetryStep {
  const o = s.ops[op];
  return {
    rps: o?.rps ?? 0,
    p50: o?.p50 ?? Number.NaN,
    p99: o?.p99 ?? Number.NaN,
    errors: o?.errors ?? 0,
    calls: s.calls,
    cpuUsPerCall: s.serverCpuUsPerCall,
  };
}

/** Traces the setting should have sampled in its measured steps (the calls started × the share). */
const expected = (r: TelemetryRow) => (r.read.calls + r.echo.calls) * r.share;
const arrival = (r: TelemetryRow) =>
  r.exported === undefined ? "-" : r.exported ? "yes" : `none (~${expected(r).toFixed(1)} traces sampled in the steps)`;

/** The step: each setting in turn on a fresh server process (same stores, same readers, same rate). */
export async function telemetryOverhead(o: TelemetryOptions): Promise<TelemetryFigures> {
  const sink = await spanSink(o.smoke);
  const rows: TelemetryRow[] = [];
  const base = {
    kind: "feedmesh" as const,
    usersFile: o.usersFile,
    concurrency: 0,
    ...(o.actors ? { actors: o.actors } : {}),
  };
  try {
    for (const s of telemetrySettings(sink.endpoint).filter((s) => o.settings.includes(s.key))) {
      sink.mark();
      const sut = await o.start(s.env);
      const pid = sut.child.pid!;
      try {
        const label = `telemetry ${s.label}`;
        // A new process: its consumers join their groups and catch up, then every reader's token
        // is verified once and the code compiled before anything is measured (the read model in
        // Redis is warm already); only then is its idle rate measured.
        await sut.settle();
        if (o.warmReaders)
          await o.run(
            {
              ...base,
              target: sut.grpc,
              mix: { home: 1 },
              mode: "closed",
              concurrency: 16,
              sequence: "once",
              rate: 0,
              warmup: 0,
              seconds: 900,
            },
            `${label}: warming up, each reader's first read (not measured)`,
            pid,
            0,
          );
        const c0 = cpuMicros(pid);
        const t0 = performance.now();
        await sleep(o.idleSeconds * 1000);
        const idleUsPerS = (cpuMicros(pid) - c0) / ((performance.now() - t0) / 1000);
        const open = { ...base, target: sut.grpc, mode: "open" as const, rate: o.rate, warmup: o.warmup, seconds: o.seconds };
        const read = await o.run({ ...open, mix: { home: 1 } }, `${label}: home-feed reads, open ${o.rate}/s`, pid, idleUsPerS);
        const echo = await o.run({ ...open, mix: { echo: 1 } }, `${label}: echo (${ECHO_RPC}), open ${o.rate}/s`, pid, idleUsPerS);
        const { scrape, dataStores } = await scrapeCost(sut.http, pid, idleUsPerS, o.scrapes);
        const row: TelemetryRow = {
          key: s.key,
          label: s.label,
          sampled: s.sampled,
          share: s.share,
          exporter: s.exporter,
          idleUsPerS,
          read: stepOf(read, "home"),
          echo: stepOf(echo, "echo"),
          scrape,
          dataStores,
        };
        await sut.close(); // the server exports its last batch of spans as it stops
        if (s.exporter === "zipkin") row.exported = await sink.arrived(s.env.OTEL_SERVICE_NAME!);
        if (s.key !== "off" && !(dataStores.includes("cassandra") && dataStores.includes("redis")))
          o.failures.push(
            `telemetry ${s.label}: /metrics has client-call metrics for [${dataStores.join(", ")}], not cassandra and redis: the instrumentations are not active in bench/feed/server.ts`,
          );
        // (at 1%, a smoke run's few calls may well have no trace sampled)
        if (row.exported === false && expected(row) >= 10)
          o.failures.push(`telemetry ${s.label}: no span of ${s.env.OTEL_SERVICE_NAME} reached ${sink.what}`);
        rows.push(row);
        const off = rows[0]!.key === "off" ? rows[0]! : undefined;
        const x = (v: number, of: number | undefined) => (off && s.key !== "off" && of ? ` (${f2(v / of)}× off)` : "");
        say(
          `${label}: read ${n0(row.read.cpuUsPerCall)} µs CPU${x(row.read.cpuUsPerCall, off?.read.cpuUsPerCall)}, p50 ${f1(row.read.p50)} p99 ${f1(row.read.p99)} ms; ` +
            `echo ${n0(row.echo.cpuUsPerCall)} µs CPU${x(row.echo.cpuUsPerCall, off?.echo.cpuUsPerCall)}, p50 ${f2(row.echo.p50)} p99 ${f2(row.echo.p99)} ms; ` +
            `GET /metrics ${n0(scrape.cpuUsPerScrape)} µs CPU, ${n0(scrape.bytes)} bytes, ${scrape.series} series; idle ${f1(idleUsPerS / 1e4)}% of a core` +
            (dataStores.length > 0 ? `; client-call metrics of ${dataStores.join(", ")}` : "") +
            (row.exported === undefined ? "" : row.exported ? "; spans exported" : `; no span arrived: ${arrival(row)}`),
        );
      } finally {
        await sut.close();
      }
    }
  } finally {
    await sink.close();
  }
  return {
    smoke: o.smoke,
    graph: o.graph,
    rate: o.rate,
    rateFrom: o.rateFrom,
    warmup: o.warmup,
    seconds: o.seconds,
    echoRpc: ECHO_RPC,
    sink: sink.what,
    rows,
  };
}

/** The report's section "Telemetry overhead": each setting against "off", side by side. */
export function telemetrySection(t: TelemetryFigures): string {
  const off = t.rows.find((r) => r.key === "off");
  const x = (v: number, of: number | undefined) => (of && of > 0 ? `${f2(v / of)}×` : "-");
  const main = table(
    ["telemetry", "read: server CPU µs", "× off", "p50 ms", "p99 ms", `echo: server CPU µs`, "× off", "p50 ms", "p99 ms", "errors"],
    t.rows.map((r) => [
      r.label,
      n0(r.read.cpuUsPerCall),
      r === off ? "1" : x(r.read.cpuUsPerCall, off?.read.cpuUsPerCall),
      f1(r.read.p50),
      f1(r.read.p99),
      n0(r.echo.cpuUsPerCall),
      r === off ? "1" : x(r.echo.cpuUsPerCall, off?.echo.cpuUsPerCall),
      f2(r.echo.p50),
      f2(r.echo.p99),
      r.read.errors + r.echo.errors,
    ]),
  );
  const more = table(
    [
      "telemetry",
      "sampled",
      "exporter",
      "spans arrived",
      "client-call metrics of",
      "GET /metrics: server CPU µs",
      "ms",
      "bytes",
      "series",
      "idle: % of a core",
    ],
    t.rows.map((r) => [
      r.label,
      r.sampled,
      r.exporter,
      arrival(r),
      r.dataStores.join(", ") || "-",
      n0(r.scrape.cpuUsPerScrape),
      f1(r.scrape.msPerScrape),
      n0(r.scrape.bytes),
      n0(r.scrape.series),
      f1(r.idleUsPerS / 1e4),
    ]),
  );
  return [
    `Each setting on a fresh server process, ${t.graph}'s readers, open loop at ${n0(t.rate)} calls/s (${t.rateFrom}), ` +
      `${t.warmup} s warm-up + ${t.seconds} s per step; server CPU (all threads, less its idle rate) per call started. ` +
      `Echo: ${t.echoRpc} through the platform's interceptors. Spans exported to ${t.sink}.` +
      (t.smoke
        ? " A smoke run: two settings, one-second steps on a server not warmed up; the figures show that the step runs, not the overhead."
        : ""),
    "",
    main,
    "",
    `GET /metrics: ${t.rows[0]?.scrape.scrapes ?? 0} scrapes one after the other, after the steps above.`,
    "",
    more,
  ].join("\n");
}
