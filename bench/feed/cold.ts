// The home feed's cold path, measured apart: FLUSHDB of the bench's own Redis database (that
// database only, SYNC), then home-feed reads at c=16 in which every read is a reader's first
// (each takes the slow path through the services and Cassandra and refills the read model), then
// the same readers again at once (warm).
import type { LoadResult } from "./load.js";
import { bytes, f1, f2, n0, table } from "./md.js";
import { openRedis, usedMemory } from "./memory.js";
import { say } from "./proc.js";
import { rng } from "./rand.js";

export type Step = LoadResult & { serverCpuUsPerCall: number; serverCpuUs: number };
export interface Flush {
  db: number;
  keys: number;
  /** INFO memory used_memory of the instance before and after. */
  before: number;
  after: number;
}
export interface ColdWarm {
  flush: Flush;
  /** Readers read in the cold step (once each) and again in the warm one. */
  readers: number;
  cold: Step & { cpuUsPerRead: number };
  warm: Step & { cpuUsPerRead: number };
}

/** FLUSHDB SYNC of database `db` only (never FLUSHALL), with used_memory before and after. */
export async function flushBenchDb(url: string, db: number): Promise<Flush> {
  if (!Number.isInteger(db) || db <= 0) throw new Error(`refusing to flush Redis database ${db}: not a bench database`);
  const r = await openRedis(url, db);
  try {
    const keys = await r.dbSize();
    const before = await usedMemory(r);
    await r.sendCommand(["FLUSHDB", "SYNC"]);
    const f = { db, keys, before, after: await usedMemory(r) };
    say(`FLUSHDB of Redis database ${db}: ${n0(keys)} keys, used_memory ${bytes(f.before)} → ${bytes(f.after)}`);
    return f;
  } finally {
    await r.close();
  }
}

type Run = (spec: { actors: number[]; sequence: "once" | "cycle"; seconds: number }, label: string) => Promise<Step>;

/** Flush, the cold step (each of `actors`, shuffled, read once, for at most `seconds`), the warm one. */
export async function coldReads(graph: string, actors: number[], seconds: number, seed: number, flush: () => Promise<Flush>, run: Run) {
  const order = [...actors];
  const r = rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const f = await flush();
  const perRead = (s: Step) => ({ ...s, cpuUsPerRead: s.serverCpuUs / Math.max(1, s.all.requests + s.all.errors) });
  const cold = perRead(
    await run({ actors: order, sequence: "once", seconds }, `${graph} home feed after FLUSHDB, each reader's first read (cold), c=16`),
  );
  const readers = cold.all.requests + cold.all.errors;
  const warm = perRead(
    await run(
      { actors: order.slice(0, Math.max(1, readers)), sequence: "cycle", seconds },
      `${graph} home feed, the same ${readers} readers again (warm), c=16`,
    ),
  );
  return { flush: f, readers, cold, warm } satisfies ColdWarm;
}

/** The report's section "Cold read model: after FLUSHDB". */
export function coldSection(cold: Record<string, ColdWarm>): string {
  const rows: (string | number)[][] = [];
  const flushes: string[] = [];
  for (const [g, c] of Object.entries(cold)) {
    const [h, w] = [c.cold.ops.home, c.warm.ops.home];
    rows.push([
      g,
      "cold: each reader's first read",
      n0(c.readers),
      n0(h?.requests),
      n0(h?.rps),
      f1(h?.p50),
      f1(h?.p99),
      n0(c.cold.cpuUsPerRead),
      f1(c.cold.homeItems),
    ]);
    rows.push([
      g,
      "warm: the same readers again",
      n0(c.readers),
      n0(w?.requests),
      n0(w?.rps),
      f1(w?.p50),
      f1(w?.p99),
      n0(c.warm.cpuUsPerRead),
      f1(c.warm.homeItems),
    ]);
    if (h && w)
      rows.push([
        g,
        "cold / warm",
        "",
        "",
        f2(h.rps / w.rps),
        f2(h.p50 / w.p50),
        f2(h.p99 / w.p99),
        f2(c.cold.cpuUsPerRead / c.warm.cpuUsPerRead),
        "",
      ]);
    flushes.push(`${g}: ${n0(c.flush.keys)} keys, used_memory ${bytes(c.flush.before)} → ${bytes(c.flush.after)}`);
  }
  return [
    "FLUSHDB (SYNC) of the bench's Redis database only, then a closed loop of home-feed reads at c=16 in which each reader of the graph " +
      "(shuffled) reads once, so every read is a first read: the slow path through the services and Cassandra, which refills the read " +
      "model (the step ends when every reader has read, or after a step's time); then the same readers again for a step (warm). No " +
      "warm-up in either. Server CPU per read: the server's CPU during the step (the load process' start included), net of its " +
      "idle background, over the reads made; the other tables divide by the rate × the step's wall time instead, which reads lower.",
    "",
    table(["graph", "read model", "readers", "reads", "req/s", "p50 ms", "p99 ms", "server CPU µs/read", "items/page"], rows),
    "",
    `FLUSHDB before each graph's cold step: ${flushes.join("; ")}.`,
  ].join("\n");
}
