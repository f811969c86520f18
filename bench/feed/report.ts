// The printed report of bench/feed: the figures of every phase as Markdown tables, ending with
// the ratios against the ceilings and the naive pull, next to the goals of issue 7, then the
// goals of issue 12 (goals.ts), the read model's Redis memory (memory.ts), its cold path (cold.ts)
// and the telemetry overhead (telemetry.ts).

import type { Echo, Ghz, Rate } from "./baselines.js";
import { type ColdWarm, coldSection } from "./cold.js";
import type { CelebrityPoint, FanoutPoint } from "./curves.js";
import { type Goal, goalsSection, type PreviousRun } from "./goals.js";
import type { GraphStats } from "./graphs.js";
import type { LoadResult, OpStats } from "./load.js";
import { f1, f2, n0, table } from "./md.js";
import { memorySection, type ReadModelMemory } from "./memory.js";
import { type PageVariants, variantsSection } from "./split.js";
import { type TelemetryFigures, telemetrySection } from "./telemetry.js";
import type { Visibility } from "./visibility.js";

export interface Figures {
  profiles: Record<string, string>;
  smoke: boolean;
  threshold: number;
  graphs: Record<string, GraphStats>;
  loads: Record<string, { posts: number; postRate: number; entries: number; entryRate: number; drainSeconds: number }>;
  work: Record<
    string,
    {
      closed: (LoadResult & { c: number })[];
      /** fraction: of the highest closed-loop rate. */
      open: (LoadResult & { rate: number; fraction?: number })[];
      home16: LoadResult & { serverCpuUsPerCall: number };
    }
  >;
  visibility: (Visibility & { graph: string })[];
  pull: Record<
    string,
    { sql?: LoadResult; stack?: LoadResult & { serverCpuUsPerCall: number }; pgbench?: { tps: number; latencyMs: number } | null }
  >;
  echoes: Echo[];
  ghz: Ghz[];
  raw: Rate;
  redis: Rate[];
  fanout: FanoutPoint[];
  celeb: CelebrityPoint[];
  memory: { synthetic: [number, number][]; real: [number, number][] };
  /** The read model's keys in Redis after the workloads. */
  modelMemory?: ReadModelMemory;
  /** Home-feed reads after FLUSHDB (cold) and right after (warm), per graph. */
  cold: Record<string, ColdWarm>;
  /** The read model's page as one script and split into single-key commands (the Redis Cluster variant). */
  variants: PageVariants[];
  /** The server's CPU per read and per echo with telemetry off, sampled at 1% and 100%, at one rate. */
  telemetry?: TelemetryFigures;
  /** The previous run's fan-out figures (bench/results/feed.json before this run). */
  previous: PreviousRun | null;
  goals: Goal[];
}

const lat = (s: OpStats | undefined) => [n0(s?.rps), f1(s?.p50), f1(s?.p90), f1(s?.p99), f1(s?.p999)];

export function report(f: Figures): string {
  const out: string[] = [];
  out.push(
    "## Data",
    table(
      [
        "graph",
        "users",
        "follows",
        "posts",
        "max followers",
        "following ≥1000",
        `celebrities (≥${f.threshold})`,
        "CreatePost/s",
        "fan-out entries",
        "fan-out entries/s",
      ],
      Object.entries(f.graphs).map(([g, s]) => [
        g,
        n0(s.users),
        n0(s.follows),
        n0(s.posts),
        n0(s.maxFollowers),
        s.following1000,
        s.celebrities,
        n0(f.loads[g]?.postRate),
        n0(f.loads[g]?.entries),
        n0(f.loads[g]?.entryRate),
      ]),
    ),
  );
  const wl: (string | number)[][] = [];
  for (const [g, w] of Object.entries(f.work)) {
    for (const r of w.closed) for (const [op, s] of Object.entries(r.ops)) wl.push([g, `closed c=${r.c}`, op, ...lat(s), s.errors]);
    for (const r of w.open)
      for (const [op, s] of Object.entries(r.ops))
        wl.push([g, `open ${r.rate}/s`, op, ...lat(s), s.errors + (r.dropped ? ` (+${r.dropped} dropped)` : "")]);
  }
  out.push(
    "",
    "## The DeathStarBench mix (60% home feed, 30% user timeline, 10% new posts; pages of 10)",
    table(["graph", "load", "op", "req/s", "p50 ms", "p90", "p99", "p99.9", "errors"], wl),
  );
  out.push(
    "",
    "## Post → feed visibility (a step of its own at half the maximum load)",
    table(
      ["authors", "probes", "readable: p50 ms", "p99 ms", "max ms", "timeouts", "in the stored feed: p50 ms", "p99 ms"],
      f.visibility.map((v) => [v.kind, v.samples, n0(v.p50), n0(v.p99), n0(v.max), v.timeouts, n0(v.storeP50), n0(v.storeP99)]),
    ),
  );
  const reads: (string | number)[][] = [];
  for (const [g, w] of Object.entries(f.work)) {
    reads.push([g, "feedmesh GetHomeFeed (grpc-js)", ...lat(w.home16.ops.home), n0(w.home16.serverCpuUsPerCall), f1(w.home16.homeItems)]);
    const p = f.pull[g];
    if (p?.stack)
      reads.push([
        g,
        "naive pull behind grpc-js + interceptors",
        ...lat(p.stack.ops.home),
        n0(p.stack.serverCpuUsPerCall),
        f1(p.stack.homeItems),
      ]);
    if (p?.sql) reads.push([g, "naive pull, raw SQL (pg)", ...lat(p.sql.ops.home), "-", f1(p.sql.homeItems)]);
    if (p?.pgbench)
      reads.push([g, "naive pull, pgbench (check)", n0(p.pgbench.tps), `avg ${f2(p.pgbench.latencyMs)}`, "-", "-", "-", "-", "-"]);
  }
  out.push(
    "",
    "## Home-feed reads, closed loop c=16",
    table(["graph", "what", "req/s", "p50 ms", "p90", "p99", "p99.9", "server CPU µs/call (net of idle)", "items/page"], reads),
  );
  const ceil: (string | number)[][] = [
    ...f.echoes.map((e) => [`echo, ${e.server} server, grpc-js client, c=16`, n0(e.rps), f2(e.p50), f2(e.p99)]),
    ...f.ghz.map((g) => [`ghz: ${g.what}, c=16`, n0(g.rps), f2(g.p50), f2(g.p99)]),
    [`raw Cassandra: ${f.raw.what}`, `${n0(f.raw.rate)} rows/s`, "-", "-"],
    ...f.redis.map((r) => [`Redis: ${r.what}, c=16`, n0(r.rate), f2(r.p50), f2(r.p99)]),
  ];
  out.push("", "## Ceilings", table(["what", "rate (/s)", "p50 ms", "p99 ms"], ceil));
  out.push(
    "",
    "## Cost curves",
    table(
      ["followers", "fan-out time ms", "entries/s"],
      f.fanout.map((p) => [n0(p.followers), n0(p.seconds * 1000), n0(p.entriesPerSecond)]),
    ),
    "",
    table(
      ["celebrities followed", "req/s (c=4)", "p50 ms", "p99 ms", "server CPU µs/call"],
      f.celeb.map((c) => [c.k, n0(c.rps), f1(c.p50), f1(c.p99), n0(c.serverCpuUsPerCall)]),
    ),
    "",
    table(
      ["cached feed entries", "bytes (MEMORY USAGE)", "bytes/entry"],
      f.memory.synthetic.map(([k, b]) => [k, n0(b), f1(b / k)]),
    ),
  );
  if (f.memory.real.length > 0) {
    const avg = (i: 0 | 1) => f.memory.real.reduce((s, p) => s + p[i], 0) / f.memory.real.length;
    out.push(`feeds cached during the run (sample of ${f.memory.real.length}): ${f1(avg(0))} entries, ${n0(avg(1))} bytes on average`);
  }
  for (const [g, text] of Object.entries(f.profiles)) out.push("", `## Where the server's time goes: ${g}`, "```", text, "```");
  if (f.modelMemory) out.push("", "## Redis memory of the read model", memorySection(f.modelMemory, Object.values(f.cold)[0]?.flush));
  if (f.variants.length > 0) out.push("", "## The read model's page: one script vs the Redis Cluster variant", variantsSection(f.variants));
  if (Object.keys(f.cold).length > 0) out.push("", "## Cold read model: after FLUSHDB", coldSection(f.cold));
  if (f.telemetry) out.push("", "## Telemetry overhead (tracing and metrics on vs off, same rate)", telemetrySection(f.telemetry));
  out.push("", "## Ratios (same run, same machine)", ratios(f));
  out.push(
    "",
    "## Goals of issue 12 (the read model)",
    f.smoke
      ? "Not judged in a smoke run: its tiny graphs and one-second steps show that every step works, not how fast (make bench judges them)."
      : goalsSection(f.goals),
  );
  return out.join("\n");
}

function ratios(f: Figures): string {
  const rows: (string | number)[][] = [];
  const echo = f.echoes.find((e) => e.server === "grpc-js");
  // A smoke run (tiny graphs, one-second steps) shows that every step runs; it judges nothing.
  const verdict = (ok: boolean | undefined) => (f.smoke || ok === undefined ? "-" : ok ? "met" : "missed");
  for (const [g, w] of Object.entries(f.work)) {
    const h = w.home16.ops.home;
    if (!h) continue;
    if (echo) rows.push([g, "feed read / echo (req/s, grpc-js, c=16)", f2(h.rps / echo.rps), "≥ 0.50", verdict(h.rps / echo.rps >= 0.5)]);
    for (const [label, res] of [
      ["raw SQL", f.pull[g]?.sql],
      ["behind grpc-js", f.pull[g]?.stack],
    ] as const) {
      const p = res?.ops.home;
      if (!p) continue;
      rows.push([g, `feed read / naive pull ${label}: req/s`, f2(h.rps / p.rps), "≥ 1", verdict(h.rps >= p.rps)]);
      rows.push([g, `feed read / naive pull ${label}: p99`, f2(h.p99 / p.p99), "≤ 0.20", verdict(h.p99 / p.p99 <= 0.2)]);
      rows.push([g, `feed read / naive pull ${label}: p99.9`, f2(h.p999 / p.p999), "≤ 0.10", verdict(h.p999 / p.p999 <= 0.1)]);
    }
    const sql = f.pull[g]?.sql?.ops.home;
    const stack = f.pull[g]?.stack?.ops.home;
    if (sql && stack) rows.push([g, "naive pull behind grpc-js / raw SQL (req/s: the framework's share)", f2(stack.rps / sql.rps), "", ""]);
    const half = w.open[Math.floor(w.open.length / 2)];
    const hh = half?.ops.home;
    if (hh) rows.push([g, `feed read p99 at half the maximum load (${half!.rate}/s), ms`, f1(hh.p99), "< 10", verdict(hh.p99 < 10)]);
  }
  for (const v of f.visibility)
    rows.push([
      v.graph,
      `post → feed p99, ${v.kind.replace(`${v.graph} `, "")}, ms (p50 ${n0(v.p50)})`,
      n0(v.p99),
      "< 1000",
      verdict(v.p99 < 1000),
    ]);
  const big = f.fanout.at(-1);
  if (big) {
    rows.push([
      "-",
      `fan-out inserts / raw writes (entries/s at ${n0(big.followers)} followers, one row each / rows/s)`,
      f2(big.entriesPerSecond / f.raw.rate),
      "≥ 0.50",
      verdict(big.entriesPerSecond / f.raw.rate >= 0.5),
    ]);
  }
  for (const [g, l] of Object.entries(f.loads))
    rows.push([
      g,
      "fan-out inserts during loading / raw writes",
      f2(l.entryRate / f.raw.rate),
      "≥ 0.50",
      verdict(l.entryRate / f.raw.rate >= 0.5),
    ]);
  // The telemetry settings against "off" (no goal: issue 14 asks for the figures).
  const t = f.telemetry;
  const off = t?.rows.find((r) => r.key === "off");
  for (const r of off ? t!.rows.filter((r) => r !== off) : []) {
    rows.push([
      t!.graph,
      `server CPU per home-feed read, telemetry ${r.label} / off (${n0(t!.rate)}/s)`,
      f2(r.read.cpuUsPerCall / off!.read.cpuUsPerCall),
      "",
      "",
    ]);
    rows.push([
      "-",
      `server CPU per echo, telemetry ${r.label} / off (${n0(t!.rate)}/s)`,
      f2(r.echo.cpuUsPerCall / off!.echo.cpuUsPerCall),
      "",
      "",
    ]);
  }
  return table(["graph", "ratio", "value", "goal", ""], rows);
}
