// The goals of issue 12 (the home feed's read model), each with the goal, the measured value and
// a verdict, from this run's figures and (for the fan-out rate) the previous run's
// bench/results/feed.json, read before this run overwrites it.
import { existsSync, readFileSync } from "node:fs";
import { f1, f2, n0, table } from "./md.js";
import type { Figures } from "./report.js";

export interface Goal {
  graph: string;
  goal: string;
  /** The measured value and the goal's bound, in `unit`. */
  value: number;
  bound: number;
  unit: string;
  /** The bound as printed, e.g. "≥ 719 req/s". */
  target: string;
  measured: string;
  met: boolean | null;
  verdict: string;
}

/** What the previous run's feed.json says about the fan-out rate (null: no previous run). */
export interface PreviousRun {
  date: string;
  smoke: boolean;
  entryRate: Record<string, number>;
  fanout: { followers: number; entriesPerSecond: number }[];
  /** That run's raw Cassandra write rate (rows/s): its fan-out rates are compared as ratios to it. */
  raw: number;
}

export function readPrevious(file: string): PreviousRun | null {
  if (!existsSync(file)) return null;
  try {
    const j = JSON.parse(readFileSync(file, "utf8")) as {
      date?: string;
      smoke?: boolean;
      loads?: Record<string, { entryRate: number }>;
      fanout?: { followers: number; entriesPerSecond: number }[];
      raw?: { rate: number };
    };
    return {
      date: j.date ?? "?",
      smoke: j.smoke ?? false,
      entryRate: Object.fromEntries(Object.entries(j.loads ?? {}).map(([g, l]) => [g, l.entryRate])),
      fanout: (j.fanout ?? []).map((p) => ({ followers: p.followers, entriesPerSecond: p.entriesPerSecond })),
      raw: j.raw?.rate ?? Number.NaN,
    };
  } catch {
    return null;
  }
}

const fmt = (v: number, unit: string) => (unit === "× raw" ? f2(v) : unit === "ms" && Math.abs(v) < 100 ? f1(v) : n0(v));

/** A goal "value ≥ bound" (at least) or "value ≤ bound" / "< bound" (at most). */
function goal(
  graph: string,
  text: string,
  value: number | undefined,
  bound: number,
  unit: string,
  kind: "≥" | "≤" | "<",
  measured = "",
): Goal {
  const v = value ?? Number.NaN;
  const ok = !Number.isFinite(v) || !Number.isFinite(bound) ? null : kind === "≥" ? v >= bound : kind === "≤" ? v <= bound : v < bound;
  const verdict =
    ok === null
      ? "-"
      : ok
        ? "met"
        : `missed by ${fmt(Math.abs(v - bound), unit)} ${unit} (×${f2(bound === 0 ? Number.NaN : v / bound)} of the goal)`;
  return {
    graph,
    goal: text,
    value: v,
    bound,
    unit,
    target: Number.isFinite(bound) ? `${kind} ${fmt(bound, unit)} ${unit}` : "-",
    measured: Number.isFinite(v) ? `${fmt(v, unit)} ${unit}${measured}` : "-",
    met: ok,
    verdict,
  };
}

export function issue12Goals(f: Figures, previous: PreviousRun | null): Goal[] {
  const out: Goal[] = [];
  const echo = f.echoes.find((e) => e.server === "grpc-js");
  for (const [g, w] of Object.entries(f.work)) {
    const h = w.home16.ops.home;
    const pull = f.pull[g]?.stack?.ops.home;
    if (h && echo)
      out.push(
        goal(
          g,
          `home-feed req/s (c=16) ≥ 0.35 × grpc-js echo (${n0(echo.rps)} req/s)`,
          h.rps,
          0.35 * echo.rps,
          "req/s",
          "≥",
          ` = ${f2(h.rps / echo.rps)} × echo`,
        ),
      );
    if (h && pull) {
      out.push(
        goal(
          g,
          `home-feed req/s ≥ 1.5 × naive pull behind grpc-js (${n0(pull.rps)} req/s)`,
          h.rps,
          1.5 * pull.rps,
          "req/s",
          "≥",
          ` = ${f2(h.rps / pull.rps)} × pull`,
        ),
      );
      out.push(
        goal(
          g,
          `home-feed p99 ≤ 0.5 × naive pull behind grpc-js p99 (${f1(pull.p99)} ms)`,
          h.p99,
          0.5 * pull.p99,
          "ms",
          "≤",
          ` = ${f2(h.p99 / pull.p99)} × pull`,
        ),
      );
    }
    if (h) out.push(goal(g, "server CPU per home-feed read (c=16) ≤ 400 µs", w.home16.serverCpuUsPerCall, 400, "µs", "≤"));
    const half = w.open.find((o) => o.fraction === 0.5) ?? w.open[Math.floor(w.open.length / 2)];
    if (half?.ops.home && pull)
      out.push(
        goal(
          g,
          `home-feed p99 in the open loop at 0.5 of the max mix load (${n0(half.rate)}/s) ≤ 0.5 × naive pull behind grpc-js p99 at c=16 (${f1(pull.p99)} ms)`,
          half.ops.home.p99,
          0.5 * pull.p99,
          "ms",
          "≤",
        ),
      );
  }
  const none = f.celeb.find((c) => c.k === 0);
  const most = f.celeb.at(-1);
  if (none && most && most.k > 0)
    out.push(
      goal(
        "skewed (curve readers)",
        `server CPU per read of readers following ${most.k} celebrities ≤ 2 × following none (${n0(none.serverCpuUsPerCall)} µs)`,
        most.serverCpuUsPerCall,
        2 * none.serverCpuUsPerCall,
        "µs",
        "≤",
        ` = ${f2(most.serverCpuUsPerCall / none.serverCpuUsPerCall)} × none`,
      ),
    );
  for (const v of f.visibility) {
    const r = goal(
      v.graph,
      `post → follower feed p99 < 1 s: ${v.kind.replace(`${v.graph} `, "")}`,
      v.p99,
      1000,
      "ms",
      "<",
      ` (${v.samples} probes)`,
    );
    if (v.timeouts > 0) Object.assign(r, { met: false, verdict: `missed: ${v.timeouts} probes not visible within 30 s` });
    out.push(r);
  }
  // The fan-out rate against the previous run's.
  if (!previous)
    out.push({
      ...goal("-", "fan-out entries/s do not drop below the previous run's", Number.NaN, Number.NaN, "entries/s", "≥"),
      verdict: "no previous run",
    });
  else {
    const vs = `the previous run's (${previous.date.slice(0, 16).replace("T", " ")})`;
    const comparable = previous.smoke === f.smoke;
    const cmp = (r: Goal) =>
      comparable
        ? r
        : {
            ...r,
            met: null,
            verdict: `not comparable: a ${f.smoke ? "smoke" : "full"} run against a ${previous.smoke ? "smoke" : "full"} run`,
          };
    // As ratios to each run's own raw Cassandra write rate: absolute rates of two runs on a shared
    // machine differ by the machine's load more than by the code.
    const [now, then] = [f.raw.rate, previous.raw];
    for (const [g, l] of Object.entries(f.loads))
      if (previous.entryRate[g] !== undefined)
        out.push(
          cmp(
            goal(g, `fan-out entries/s while loading ÷ raw writes ≥ ${vs}`, l.entryRate / now, previous.entryRate[g]! / then, "× raw", "≥"),
          ),
        );
    for (const p of f.fanout) {
      const q = previous.fanout.find((x) => x.followers === p.followers);
      if (q)
        out.push(
          cmp(
            goal(
              "-",
              `fan-out entries/s to ${n0(p.followers)} followers (curve) ÷ raw writes ≥ ${vs}`,
              p.entriesPerSecond / now,
              q.entriesPerSecond / then,
              "× raw",
              "≥",
            ),
          ),
        );
    }
  }
  return out;
}

/** The report's section "Goals of issue 12 (the read model)". */
export function goalsSection(goals: Goal[]): string {
  const met = goals.filter((g) => g.met === true).length;
  const judged = goals.filter((g) => g.met !== null).length;
  return [
    table(
      ["graph", "goal", "bound", "measured", "verdict"],
      goals.map((g) => [g.graph, g.goal, g.target, g.measured, g.verdict]),
    ),
    "",
    `${met} of ${judged} goals met. The fan-out rows compare each run's fan-out rate as a ratio to its own raw Cassandra ` +
      "write rate; on shared machines even those move by a few tens of percent between runs: read such a miss as noise unless it repeats.",
  ].join("\n");
}
