// The ceilings measured in the same run: echo on both Node RPC stacks (bench/rpc's own server and
// load driver), ghz, the raw cassandra-driver write rate for feed-shaped rows, and Redis' own rate
// (redis-benchmark) for the feed cache's Lua scripts, plus the same scripts through node-redis.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import cassandra from "cassandra-driver";
import { FEED_SCRIPTS, RedisFeedCache } from "../../services/feed/cache.redis.js";
import { IdGenerator } from "../../services/platform/ids.js";
import { RedisConnection } from "../../services/platform/redis.js";
import { runGhzJson } from "../rpc/ghz.js";
import type { LoadResult as EchoResult } from "../rpc/load.js";
import type { Ports } from "../rpc/server.js";
import { type Stats, summarize } from "../rpc/stats.js";
import { Lines, root, say, spawnTs, stop } from "./proc.js";

export interface Echo extends EchoResult {
  server: string;
}

/** bench/rpc's echo: grpc-js client, c concurrent, against grpc-js and connect-node servers. */
export async function echo(c: number, warmup: number, seconds: number): Promise<Echo[]> {
  const out: Echo[] = [];
  for (const [kind, port] of [
    ["grpc-js", "grpc"],
    ["connect-node", "http"],
  ] as const) {
    const server = spawnTs("../rpc/server.ts", [kind]);
    const ports = await new Lines(server, `echo server ${kind}`).next<Ports>("ready", 60_000);
    const load = spawnTs("../rpc/load.ts", ["grpc-js", `127.0.0.1:${ports[port]}`, String(c), String(warmup), String(seconds)]);
    const r = await new Lines(load, "echo load").next<EchoResult>("rps", (warmup + seconds + 60) * 1000);
    await stop(load);
    await stop(server);
    say(`echo ${kind} (grpc-js client, c=${c}): ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(2)} ms`);
    out.push({ ...r, server: kind });
  }
  return out;
}

export interface Ghz {
  what: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export function ghzPath(): string | undefined {
  try {
    return execFileSync("bash", [path.join(root, "scripts/infra/ghz.sh"), "path"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

/** One ghz run; errors other than the calls cut off at the end of -z count. */
export function ghz(bin: string, what: string, args: string[], c: number, seconds: number, target: string): Ghz {
  const g = { what, ...runGhzJson(bin, [...args, "-c", String(c), "-z", `${seconds}s`, target]) };
  say(`ghz ${what} c=${c}: ${Math.round(g.rps)} req/s, p50 ${g.p50.toFixed(2)} ms, p99 ${g.p99.toFixed(2)} ms, ${g.errors} errors`);
  return g;
}

/** Echo on a bench/rpc grpc-js server, driven by ghz. */
export async function ghzEcho(bin: string, c: number, seconds: number, tmp: string): Promise<Ghz[]> {
  const protoset = path.join(tmp, "echo.binpb");
  if (!existsSync(protoset)) execFileSync(path.join(root, "node_modules/.bin/buf"), ["build", "bench/rpc", "-o", protoset], { cwd: root });
  const out: Ghz[] = [];
  for (const [kind, port] of [
    ["grpc-js", "grpc"],
    ["connect-node", "http"],
  ] as const) {
    const server = spawnTs("../rpc/server.ts", [kind]);
    const ports = await new Lines(server, `echo server ${kind}`).next<Ports>("ready", 60_000);
    const args = ["--protoset", protoset, "--call", "feedmesh.bench.v1.EchoService/Echo", "-d", '{"message":"hi"}'];
    out.push(ghz(bin, `echo ${kind}`, args, c, seconds, `127.0.0.1:${ports[port]}`));
    await stop(server);
  }
  return out;
}

export interface Rate extends Stats {
  what: string;
  /** Rows, calls or commands per second. */
  rate: number;
}

/**
 * The store ceiling for fan-out: rows shaped like feed_entries (reader, month, post, author),
 * written by cassandra-driver's executeConcurrent at 64 in flight, as CassandraDb.concurrent does.
 */
export async function rawCassandraWrites(client: cassandra.Client, rows: number): Promise<Rate> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS raw_feed_entries (reader_id bigint, month int, post_id bigint, author_id bigint,
       PRIMARY KEY ((reader_id, month), post_id)) WITH CLUSTERING ORDER BY (post_id DESC)`,
  );
  const gen = new IdGenerator(1001);
  const post = BigInt(gen.next());
  const params = Array.from({ length: rows }, () => [BigInt(gen.next()), 202611, post, 42n]);
  const query = "INSERT INTO raw_feed_entries (reader_id, month, post_id, author_id) VALUES (?, ?, ?, ?)";
  await cassandra.concurrent.executeConcurrent(client, query, params.slice(0, Math.min(2000, rows)), { concurrencyLevel: 64 }); // warm-up
  const t0 = performance.now();
  await cassandra.concurrent.executeConcurrent(client, query, params, { concurrencyLevel: 64, raiseOnFirstError: true });
  const s = (performance.now() - t0) / 1000;
  const r: Rate = { what: "cassandra-driver INSERT, 64 in flight", rate: rows / s, ...summarize([], s * 1000) };
  say(`raw Cassandra writes: ${rows.toLocaleString("en")} feed-shaped rows in ${s.toFixed(1)} s = ${Math.round(r.rate)} rows/s`);
  return r;
}

const pad = (i: number) => String(i).padStart(12, "0");

/**
 * Redis' own rate for the feed cache's commands: redis-benchmark running EVALSHA of the cache's
 * feedPage (a first page of 10) and feedAdd scripts on 1,000 filled feeds of 100 entries; then
 * the same reads through node-redis and RedisFeedCache (the path the feed service uses).
 */
export async function redisRates(url: string, db: number, c: number, n: number): Promise<Rate[]> {
  const conn = await RedisConnection.open({ url: `${url}/${db}`, commandTimeoutMs: 10_000 }, FEED_SCRIPTS);
  const cache = new RedisFeedCache(conn, { ttlSeconds: 3600, prefix: "benchrb:" });
  const gen = new IdGenerator(1002);
  const entries = Array.from({ length: 100 }, (_, i) => ({ postId: gen.next(Date.now() - 1e6 + i * 1000), authorId: "42" }));
  for (let k = 0; k < 1000; k += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => cache.fill(pad(k + j), entries, 500)));
  const out: Rate[] = [];
  const u = new URL(url);
  const bench = (what: string, script: string, args: string[]) => {
    const sha = String(execFileSync("redis-cli", ["-h", u.hostname, "-p", u.port, "SCRIPT", "LOAD", script], { encoding: "utf8" })).trim();
    const csv = execFileSync(
      "redis-benchmark",
      [
        "-h",
        u.hostname,
        "-p",
        u.port,
        "--dbnum",
        String(db),
        "-c",
        String(c),
        "-n",
        String(n),
        "-r",
        "1000",
        "--csv",
        "EVALSHA",
        sha,
        "1",
        "benchrb:feed:{__rand_int__}",
        ...args,
      ],
      { encoding: "utf8" },
    );
    const row = csv
      .trim()
      .split("\n")
      .at(-1)!
      .split(",")
      .map((f) => f.replace(/"/g, ""));
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    const r: Rate = {
      what,
      rate: Number(row[1]),
      requests: n,
      rps: Number(row[1]),
      p50: Number(row[4]),
      p90: Number.NaN,
      p99: Number(row[6]),
      p999: Number.NaN,
    };
    say(`redis-benchmark ${what} c=${c}: ${Math.round(r.rate)} ops/s, p50 ${r.p50} ms, p99 ${r.p99} ms`);
    out.push(r);
  };
  try {
    bench("feedPage (first page of 10)", FEED_SCRIPTS.feedPage.SCRIPT, ["11", "", ""]);
    bench("feedAdd (cap 500)", FEED_SCRIPTS.feedAdd.SCRIPT, [String(Date.now()), "0000000__rand_int__:42", "500"]);
  } catch (err) {
    say(`redis-benchmark skipped: ${(err as Error).message.split("\n")[0]} (apt-get install redis-tools)`);
  }
  // node-redis: the feed service's path, c calls in flight for 3 s.
  const lat: number[] = [];
  const t0 = performance.now();
  let i = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() - t0 < 3000) {
        const s = performance.now();
        await cache.page(pad(i++ % 1000), 10, null);
        lat.push(performance.now() - s);
      }
    }),
  );
  const st = summarize(lat, performance.now() - t0);
  out.push({ what: "feedPage via node-redis (RedisFeedCache.page)", rate: st.rps, ...st });
  say(`node-redis RedisFeedCache.page c=${c}: ${Math.round(st.rps)} ops/s, p99 ${st.p99.toFixed(2)} ms`);
  await conn.close();
  return out;
}

/** MEMORY USAGE of cached feeds filled with k entries, and of a sample of the run's real feeds. */
export async function redisMemory(
  url: string,
  db: number,
  sizes: number[],
): Promise<{ synthetic: [number, number][]; real: [number, number][] }> {
  const conn = await RedisConnection.open({ url: `${url}/${db}`, commandTimeoutMs: 10_000 }, FEED_SCRIPTS);
  const cache = new RedisFeedCache(conn, { ttlSeconds: 3600, prefix: "benchmem:" });
  const gen = new IdGenerator(1003);
  const synthetic: [number, number][] = [];
  for (const k of sizes) {
    const entries = Array.from({ length: k }, (_, i) => ({ postId: gen.next(Date.now() - 1e7 + i * 997), authorId: gen.next() }));
    await cache.fill(`mem${k}`, entries, Math.max(k, 10));
    synthetic.push([k, Number(await conn.client.memoryUsage(`benchmem:feed:{mem${k}}`))]);
  }
  const real: [number, number][] = [];
  for await (const keys of conn.client.scanIterator({ MATCH: "feedmesh:feed:*", COUNT: 500 })) {
    for (const key of keys) {
      if (real.length >= 300) break;
      real.push([Number(await conn.client.zCard(key)) - 1, Number(await conn.client.memoryUsage(key))]);
    }
    if (real.length >= 300) break;
  }
  await conn.close();
  return { synthetic, real };
}
