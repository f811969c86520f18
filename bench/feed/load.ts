// The workload driver, in its own process (started by run.ts): the DeathStarBench mix against
// feedmesh, or home-feed reads against the naive pull (behind the RPC stack, or raw SQL); and
// "echo", grpc.health.v1 Health/Check through the platform's interceptors (bench/feed/telemetry.ts).
//   load.ts <spec.json>
// Closed loop: `concurrency` callers, each issuing its next call when the last one returns.
// Open loop: calls start on a fixed schedule (`rate` per second) whether or not earlier ones have
// returned, and latency counts from the scheduled start (no coordinated omission).
// Prints one JSON line {"result": {...}} with per-operation Stats (bench/rpc/stats.ts).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import pg from "pg";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createGrpcJsTransport } from "../../services/platform/transport.grpc.js";
import { type Stats, summarize } from "../rpc/stats.js";
import { caption, rng } from "./rand.js";

/** echo: grpc.health.v1 Health/Check of the whole server (""), the cheapest RPC through the interceptors. */
export type Op = "home" | "timeline" | "post" | "echo";
export interface LoadSpec {
  /** feedmesh: the system under test; pull: the naive pull behind grpc-js; sql: the naive pull's query, raw. */
  kind: "feedmesh" | "pull" | "sql";
  target: string;
  /** The share of each operation (those left out: none). */
  mix: Partial<Record<Op, number>>;
  mode: "closed" | "open";
  concurrency: number;
  rate: number;
  warmup: number;
  seconds: number;
  /** The actors: feedmesh user ids and tokens (feedmesh, pull) and their PostgreSQL ids (sql). */
  usersFile: string;
  /** Indexes into the users file that act (default: all). */
  actors?: number[];
  /**
   * How each call picks its actor: at random (default), or walking `actors` in their order:
   * "cycle" wraps around, "once" ends a closed-loop step when every actor has made one call.
   */
  sequence?: "cycle" | "once";
  seed: number;
}
export interface OpStats extends Stats {
  errors: number;
}
export interface LoadResult {
  ops: Partial<Record<Op, OpStats>>;
  all: OpStats;
  firstError?: string;
  dropped: number;
  clientCpuUsPerCall: number;
  /** Every call started, the warm-up's included (the server's CPU over the whole step, per call). */
  calls: number;
  /** Mean items per home-feed page, over every read (warm-up included). */
  homeItems?: number;
}

/** The naive pull of seed 001 ("Naive feed generation"): the followees' posts, newest first. */
export const NAIVE_SQL = `SELECT p.post_id, p.author_id, u.username, p.caption, p.created_at
  FROM posts p JOIN users u ON u.user_id = p.author_id
 WHERE p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)
 ORDER BY p.created_at DESC LIMIT $2`;

type Call = (actor: number, r: () => number) => Promise<void>;

/** Items returned by the home-feed reads (to check that every target serves full pages). */
let items = 0;

function driver(
  spec: LoadSpec,
  users: { ids: string[]; tokens: string[]; pgIds: number[] },
): { call: Record<Op, Call>; close: () => Promise<void> } {
  const none: Call = async () => {
    throw new Error("operation not supported by this target");
  };
  if (spec.kind === "sql") {
    const pool = new pg.Pool({ connectionString: spec.target, max: Math.max(1, spec.concurrency) });
    return {
      call: {
        home: async (a) => {
          const res = await pool.query({ name: "naive", text: NAIVE_SQL, values: [users.pgIds[a], 10] });
          items += res.rowCount ?? 0; // after the await: `items += await …` would lose concurrent updates
        },
        timeline: none,
        post: none,
        echo: none,
      },
      close: () => pool.end(),
    };
  }
  const transport = createGrpcJsTransport(spec.target);
  const feed = createClient(FeedService, transport);
  const post = createClient(PostService, transport);
  const health = createClient(Health, transport);
  const auth = (a: number) => ({ headers: { authorization: `Bearer ${users.tokens[a]}` } });
  const n = users.ids.length;
  return {
    call: {
      home: async (a) => {
        const page = await feed.getHomeFeed({ pageSize: 10 }, auth(a));
        items += page.items.length;
      },
      timeline:
        spec.kind === "pull"
          ? none
          : async (a, r) => {
              await post.listUserPosts({ userId: users.ids[Math.floor(r() * n)]!, pageSize: 10 }, auth(a));
            },
      post:
        spec.kind === "pull"
          ? none
          : async (a, r) => {
              await post.createPost({ caption: caption(r), requestId: randomUUID() }, auth(a));
            },
      echo: async () => {
        await health.check({ service: "" });
      },
    },
    close: async () => {},
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const users = JSON.parse(readFileSync(spec.usersFile, "utf8")) as { ids: string[]; tokens: string[]; pgIds: number[] };
  const actors = spec.actors ?? Array.from({ length: (spec.kind === "feedmesh" ? users.ids : users.pgIds).length }, (_, i) => i);
  const { call, close } = driver(spec, users);
  const ops = (Object.keys(spec.mix) as Op[]).filter((o) => (spec.mix[o] ?? 0) > 0);
  const total = ops.reduce((s, o) => s + spec.mix[o]!, 0);
  const r = rng(spec.seed);
  const pickOp = (): Op => {
    let x = r() * total;
    for (const o of ops) {
      x -= spec.mix[o]!;
      if (x < 0) return o;
    }
    return ops.at(-1)!;
  };
  const lat: Record<Op, number[]> = { home: [], timeline: [], post: [], echo: [] };
  const errs: Record<Op, number> = { home: 0, timeline: 0, post: 0, echo: 0 };
  let firstError: string | undefined;
  let dropped = 0;
  const t0 = performance.now();
  const from = t0 + spec.warmup * 1000;
  const to = from + spec.seconds * 1000;
  let cpu0: NodeJS.CpuUsage | undefined;
  let last = from;
  let homeCalls = 0;
  let calls = 0;
  let walked = 0;
  const actor = () => (spec.sequence ? actors[walked++ % actors.length]! : actors[Math.floor(r() * actors.length)]!);
  const one = async (op: Op, start: number) => {
    calls++;
    if (op === "home") homeCalls++;
    try {
      await call[op](actor(), r);
      const done = performance.now();
      if (start >= from && start < to) {
        lat[op].push(done - start);
        last = Math.max(last, done);
      }
    } catch (err) {
      if (start >= from && start < to) errs[op]++;
      firstError ??= `${op}: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  if (spec.mode === "closed") {
    await Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        for (;;) {
          const start = performance.now();
          if (start >= to || (spec.sequence === "once" && walked >= actors.length)) return;
          if (start >= from) cpu0 ??= process.cpuUsage();
          await one(pickOp(), start);
        }
      }),
    );
  } else {
    const interval = 1000 / spec.rate;
    const pending = new Set<Promise<void>>();
    for (let i = 0; ; i++) {
      const at = t0 + i * interval;
      if (at >= to) break;
      const now = performance.now();
      if (at > now) await new Promise((res) => setTimeout(res, Math.max(0, at - now - 0.5)));
      if (at >= from) cpu0 ??= process.cpuUsage();
      if (pending.size >= 4096) {
        if (at >= from) dropped++;
        continue;
      }
      const p = one(pickOp(), at).finally(() => pending.delete(p));
      pending.add(p);
    }
    await Promise.all(pending);
  }
  const cpu = process.cpuUsage(cpu0);
  await close();
  const elapsed = spec.mode === "open" ? spec.seconds * 1000 : last - from;
  const result: LoadResult = {
    ops: Object.fromEntries(ops.map((o) => [o, { ...summarize(lat[o], elapsed), errors: errs[o] }])),
    all: {
      ...summarize(
        ops.flatMap((o) => lat[o]),
        elapsed,
      ),
      errors: ops.reduce((n, o) => n + errs[o], 0),
    },
    dropped,
    clientCpuUsPerCall: 0,
    calls,
    ...(firstError !== undefined ? { firstError } : {}),
  };
  result.clientCpuUsPerCall = result.all.requests > 0 ? (cpu.user + cpu.system) / result.all.requests : 0;
  if (homeCalls > 0) result.homeItems = items / homeCalls;
  return result;
}

if (import.meta.filename === process.argv[1]) {
  process.stdin.on("close", () => process.exit(1)).resume(); // the parent went away
  const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  process.exit(0);
}
