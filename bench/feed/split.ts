// The read model's two ways of reading a page, side by side on the same Redis and the same
// readers, right after the workloads (every reader's feed cached): the one Lua script
// (readmodel.redis.ts, a single Redis) and the split page of single-key commands
// (readmodel.cluster.ts, the variant a Redis Cluster needs). Both run in this process at c=16 in
// interleaved slices; per page: Node CPU, Redis CPU, Redis commands, latency. The two variants'
// pages are compared item by item first: any difference fails the run.
import { SplitRedisReadModel } from "../../services/feed/readmodel.cluster.js";
import type { ModelPage, ReadModel } from "../../services/feed/readmodel.js";
import { READ_MODEL_SCRIPTS, RedisReadModel } from "../../services/feed/readmodel.redis.js";
import { RedisConnection } from "../../services/platform/redis.js";
import { f1, f2, n0, table } from "./md.js";
import { say } from "./proc.js";
import { rng } from "./rand.js";

export interface VariantFigures {
  variant: "script" | "split";
  pages: number;
  misses: number;
  pagesPerS: number;
  nodeCpuUsPerPage: number;
  redisCpuUsPerPage: number;
  commandsPerPage: number;
  p50: number;
  p99: number;
}

export interface PageVariants {
  graph: string;
  readers: number;
  /** Readers whose first page both variants read, and how many of those differed. */
  compared: number;
  differed: number;
  rows: VariantFigures[];
}

const OPTIONS = { ttlSeconds: 604_800, countsTtlSeconds: 600, feedTtlSeconds: 604_800, timelineCap: 200 };
const CONCURRENCY = 16;
const SLICES = 4;

function same(a: ModelPage, b: ModelPage): boolean {
  if (!a.hit || !b.hit) return a.hit === b.hit;
  const key = (p: typeof a) =>
    JSON.stringify([
      p.next,
      p.items.map((i) => [
        i.postId,
        i.authorId,
        Buffer.from(i.post ?? []).toString("base64"),
        Buffer.from(i.user ?? []).toString("base64"),
        i.counts,
        i.liked,
      ]),
    ]);
  return key(a) === key(b);
}

async function info(conn: RedisConnection<typeof READ_MODEL_SCRIPTS>): Promise<{ cpuUs: number; commands: number }> {
  const text = String(await conn.client.sendCommand(["INFO", "ALL"]));
  const num = (k: string) => Number(text.match(new RegExp(`^${k}:([\\d.]+)`, "m"))?.[1] ?? 0);
  return { cpuUs: (num("used_cpu_user") + num("used_cpu_sys")) * 1e6, commands: num("total_commands_processed") };
}

/** Measures both variants on `readerIds` (their feeds cached), `seconds` each in all. */
export async function pageVariants(graph: string, url: string, db: number, readerIds: string[], seconds: number, seed: number) {
  const open = () => RedisConnection.open({ url: `${url}/${db}` }, READ_MODEL_SCRIPTS);
  const [c1, c2, probe] = await Promise.all([open(), open(), open()]);
  const models: Record<"script" | "split", ReadModel> = {
    script: new RedisReadModel(c1, OPTIONS),
    split: new SplitRedisReadModel(c2, OPTIONS),
  };
  try {
    let compared = 0;
    let differed = 0;
    for (const r of readerIds.slice(0, 300)) {
      const [a, b] = [await models.script.page(r, 10, null), await models.split.page(r, 10, null)];
      compared++;
      if (!same(a, b)) differed++;
    }
    const rand = rng(seed);
    const acc = Object.fromEntries(
      (["script", "split"] as const).map((v) => [
        v,
        { pages: 0, misses: 0, wallS: 0, nodeUs: 0, redisUs: 0, commands: 0, lat: [] as number[] },
      ]),
    );
    for (let slice = 0; slice < 2 * SLICES; slice++) {
      const variant = slice % 2 === 0 ? "script" : "split";
      const a = acc[variant]!;
      const model = models[variant];
      const until = performance.now() + (seconds * 1000) / (2 * SLICES);
      const [i0, cpu0, t0] = [await info(probe), process.cpuUsage(), performance.now()];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < until) {
            const r = readerIds[Math.floor(rand() * readerIds.length)]!;
            const s = performance.now();
            const page = await model.page(r, 10, null);
            a.lat.push(performance.now() - s);
            if (page.hit) a.pages++;
            else a.misses++;
          }
        }),
      );
      const [cpu, i1] = [process.cpuUsage(cpu0), await info(probe)];
      a.wallS += (performance.now() - t0) / 1000;
      a.nodeUs += cpu.user + cpu.system;
      a.redisUs += i1.cpuUs - i0.cpuUs;
      a.commands += i1.commands - i0.commands - 1; // less the INFO itself
    }
    const rows: VariantFigures[] = (["script", "split"] as const).map((variant) => {
      const a = acc[variant]!;
      const calls = Math.max(1, a.pages + a.misses);
      const lat = a.lat.sort((x, y) => x - y);
      return {
        variant,
        pages: a.pages,
        misses: a.misses,
        pagesPerS: calls / a.wallS,
        nodeCpuUsPerPage: a.nodeUs / calls,
        redisCpuUsPerPage: a.redisUs / calls,
        commandsPerPage: a.commands / calls,
        p50: lat[Math.floor(lat.length * 0.5)] ?? 0,
        p99: lat[Math.floor(lat.length * 0.99)] ?? 0,
      };
    });
    const result: PageVariants = { graph, readers: readerIds.length, compared, differed, rows };
    for (const r of rows)
      say(
        `${graph} read-model page, ${r.variant}: ${n0(r.pagesPerS)} pages/s at c=${CONCURRENCY}, Node ${f1(r.nodeCpuUsPerPage)} µs + Redis ${f1(r.redisCpuUsPerPage)} µs of CPU and ${f2(r.commandsPerPage)} Redis commands (those inside scripts too) per page, p50 ${f2(r.p50)} p99 ${f2(r.p99)} ms (${r.misses} misses)`,
      );
    say(`${graph}: the two variants' first pages of ${compared} readers: ${differed} differed`);
    return result;
  } finally {
    await Promise.all([c1.close(), c2.close(), probe.close()]);
  }
}

export function variantsSection(all: PageVariants[]): string {
  const rows = all.flatMap((v) => {
    const [script, split] = v.rows as [VariantFigures, VariantFigures];
    return v.rows.map((r) => [
      v.graph,
      r.variant === "script" ? "one Lua script (single Redis)" : "split: single-key commands (Redis Cluster)",
      n0(r.pagesPerS),
      f1(r.nodeCpuUsPerPage),
      f1(r.redisCpuUsPerPage),
      f2(r.commandsPerPage),
      f2(r.p50),
      f2(r.p99),
      r === split ? `${f2(split.nodeCpuUsPerPage / script.nodeCpuUsPerPage)} × / ${f2(split.p99 / script.p99)} ×` : "1",
    ]);
  });
  return [
    `Pages of 10 at c=${CONCURRENCY} from this process, the variants in ${2 * SLICES} interleaved slices; the readers' feeds cached by the workloads.`,
    table(
      [
        "graph",
        "page read as",
        "pages/s",
        "Node CPU µs/page",
        "Redis CPU µs/page",
        "Redis commands/page (inside scripts too)",
        "p50 ms",
        "p99 ms",
        "split ÷ script: Node CPU / p99",
      ],
      rows,
    ),
    all.map((v) => `${v.graph}: first pages of ${v.compared} readers compared item by item: ${v.differed} differed.`).join(" "),
  ].join("\n\n");
}
