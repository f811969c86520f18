// The per-call cost budget of the RPC layers (make bench-rpc): server CPU per echo call of a bare
// grpc-js server, our adapter (addGrpcService) and the adapter with the interceptors
// (wrapService); what each layer adds, as the difference of two of them measured in the same
// round (the three servers take turns, so a noisy spell of the box hits all three); and the
// verdict against the limits that run.ts sets.

export const BUDGET_SERVERS = ["grpc-js-plain", "grpc-js", "stack"] as const;
export type BudgetServer = (typeof BUDGET_SERVERS)[number];
/** Server CPU µs per call of each budget server, one value per round. */
export type BudgetRounds = Record<BudgetServer, number[]>;
export interface Limits {
  adapter: number;
  interceptors: number;
}

export interface Layer {
  name: keyof Limits;
  /** Median over the rounds of the per-round difference. */
  us: number;
  rounds: number[];
  limit: number;
  /** µs over the limit (> 0 fails). */
  over: number;
}
export interface Budget {
  limitsUs: Limits;
  /** Median server CPU µs per call of each server. */
  perCallUs: Record<BudgetServer, number>;
  rounds: BudgetRounds;
  layers: Layer[];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function budget(rounds: BudgetRounds, limitsUs: Limits): Budget {
  const diff = (a: number[], b: number[]) => a.map((v, i) => v - (b[i] ?? Number.NaN));
  const layer = (name: keyof Limits, values: number[]): Layer => {
    const us = median(values);
    return { name, us, rounds: values, limit: limitsUs[name], over: Number.isFinite(us) ? us - limitsUs[name] : Number.NaN };
  };
  return {
    limitsUs,
    perCallUs: { "grpc-js-plain": median(rounds["grpc-js-plain"]), "grpc-js": median(rounds["grpc-js"]), stack: median(rounds.stack) },
    rounds,
    layers: [
      layer("adapter", diff(rounds["grpc-js"], rounds["grpc-js-plain"])),
      layer("interceptors", diff(rounds.stack, rounds["grpc-js"])),
    ],
  };
}

/** Why the budget fails: a layer over its limit, or not measured. */
export function budgetFailures(b: Budget): string[] {
  return b.layers.flatMap((l) =>
    !Number.isFinite(l.us)
      ? [`budget: ${l.name} not measured`]
      : l.over > 0
        ? [`budget: ${l.name} costs ${l.us.toFixed(1)} µs per call, over its ${l.limit} µs budget by ${l.over.toFixed(1)} µs`]
        : [],
  );
}

export function budgetTable(b: Budget, enforced: boolean): string[] {
  const us = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");
  const list = (vs: number[]) => vs.map((v) => us(v)).join(", ");
  const verdict = (l: Layer) =>
    !Number.isFinite(l.us)
      ? "not measured"
      : l.over > 0
        ? `OVER by ${us(l.over)} µs${enforced ? "" : " (smoke: not enforced)"}`
        : `ok (${Math.max(0, Math.round((l.us / l.limit) * 100))}% of it)`;
  const n = Math.max(...Object.values(b.rounds).map((r) => r.length));
  // Relative to the floor: less machine-dependent than µs (a slower box scales all three).
  const pct = (v: number) =>
    Number.isFinite(v / b.perCallUs["grpc-js-plain"]) ? `${Math.round((v / b.perCallUs["grpc-js-plain"]) * 100)}%` : "-";
  return [
    `Budget: server CPU per call, grpc-js client, median of ${n} round${n === 1 ? "" : "s"}${enforced ? "" : " (smoke: timings meaningless, not enforced)"}`,
    "| server or layer | server µs/call | of the floor | each round | budget | verdict |",
    "|---|---:|---:|---|---:|---|",
    ...(
      [
        ["grpc-js-plain: bare @grpc/grpc-js, protobuf-es codec (the floor)", "grpc-js-plain"],
        ["grpc-js: addGrpcService", "grpc-js"],
        ["stack: addGrpcService + wrapService", "stack"],
      ] as const
    ).map(([what, k]) => `| ${what} | ${us(b.perCallUs[k])} | ${pct(b.perCallUs[k])} | ${list(b.rounds[k])} | | |`),
    ...b.layers.map(
      (l) =>
        `| ${l.name === "adapter" ? "adapter = grpc-js − grpc-js-plain" : "interceptors = stack − grpc-js"} | ${us(l.us)} | ${pct(l.us)} | ` +
        `${list(l.rounds)} | ≤ ${l.limit} | ${verdict(l)} |`,
    ),
  ];
}
