// Latency percentiles and request rates for the RPC benchmark.

export interface Stats {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** The nearest-rank percentile (0 < p <= 100) of ascending values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Summarizes per-call latencies (ms) measured over elapsedMs of wall time. */
export function summarize(latenciesMs: ArrayLike<number>, elapsedMs: number): Stats {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    requests: sorted.length,
    rps: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
  };
}
