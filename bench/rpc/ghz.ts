// One ghz run, summarized: requests per second, p50/p99 in ms, and the calls that failed (the
// calls -z cuts off in flight when the time is up, "transport is closing", are not failures).
// Shared by `make bench-rpc` and `make bench`.
import { execFileSync } from "node:child_process";

export interface GhzFigures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs ghz with these arguments (plus --insecure and JSON output) and summarizes its report. */
export function runGhzJson(bin: string, args: string[]): GhzFigures {
  const r = JSON.parse(execFileSync(bin, ["--insecure", ...args, "--format", "json"], { encoding: "utf8", maxBuffer: 256 << 20 })) as {
    rps: number;
    count: number;
    latencyDistribution: { percentage: number; latency: number }[] | null;
    statusCodeDistribution?: Record<string, number>;
    errorDistribution?: Record<string, number>;
  };
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? Number.NaN) / 1e6;
  const cutOff = Object.entries(r.errorDistribution ?? {})
    .filter(([msg]) => /transport is closing|context canceled/.test(msg))
    .reduce((n, [, count]) => n + count, 0);
  return { rps: r.rps, p50: at(50), p99: at(99), errors: r.count - (r.statusCodeDistribution?.OK ?? 0) - cutOff };
}
