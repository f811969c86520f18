// The system under test and what run.ts does with it: start it (server.ts) on a fresh keyspace,
// topic prefix and Redis database; create posts through CreatePost with progress; wait for the
// fan-out to settle.
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type Client, createClient } from "@connectrpc/connect";
import cassandra from "cassandra-driver";
import { Kafka, logLevel } from "kafkajs";
import { createClient as createRedis } from "redis";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { IdentityService } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { createGrpcJsTransport } from "../../services/platform/transport.grpc.js";
import type { Loaded } from "./data.js";
import { Lines, progress, say, spawnTs, stop } from "./proc.js";
import { caption, rng } from "./rand.js";

export interface Sut {
  child: ChildProcess;
  lines: Lines;
  grpc: string;
  /** host:port of the HTTP port (Connect, /metrics). */
  http: string;
  feed: Client<typeof FeedService>;
  post: Client<typeof PostService>;
  identity: Client<typeof IdentityService>;
  settle(): Promise<number>;
  /** Runs fn with the server's CPU profiler on; writes the profile to file. */
  profile<T>(file: string, fn: () => Promise<T>): Promise<T>;
  /** Which path served the home-feed reads so far, and why the read model missed. */
  stats(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface SutEnv {
  contactPoints: string;
  keyspace: string;
  kafka: string;
  topicPrefix: string;
  redisUrl: string;
  redisDb: number;
  threshold: number;
  modules: string;
}

/** Drops the bench's own keyspace and empties its own Redis database (never anything shared). */
export async function freshStores(e: SutEnv): Promise<void> {
  if (!/^feedmesh_bench/.test(e.keyspace)) throw new Error(`refusing to drop ${e.keyspace}: not a bench keyspace`);
  const c = new cassandra.Client({ contactPoints: e.contactPoints.split(","), localDataCenter: "datacenter1" });
  await c.connect();
  await c.execute(`DROP KEYSPACE IF EXISTS ${e.keyspace}`, [], { readTimeout: 120_000 });
  await c.shutdown();
  const r = createRedis({ url: `${e.redisUrl}/${e.redisDb}` });
  await r.connect();
  await r.flushDb();
  await r.close();
}

/** Starts server.ts; `extra`: more environment (the OTEL_* settings of bench/feed/telemetry.ts). */
export async function startSut(e: SutEnv, nodeArgs: string[] = [], extra: Record<string, string> = {}): Promise<Sut> {
  const env = {
    FEEDMESH_STORE: "cassandra",
    FEEDMESH_CASSANDRA_CONTACT_POINTS: e.contactPoints,
    FEEDMESH_CASSANDRA_KEYSPACE: e.keyspace,
    FEEDMESH_KAFKA_BROKERS: e.kafka,
    FEEDMESH_KAFKA_TOPIC_PREFIX: e.topicPrefix,
    FEEDMESH_REDIS_URL: `${e.redisUrl}/${e.redisDb}`,
    FEEDMESH_CELEBRITY_THRESHOLD: String(e.threshold),
    FEEDMESH_HTTP_ADDR: "127.0.0.1:0",
    FEEDMESH_GRPC_ADDR: "127.0.0.1:0",
    FEEDMESH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "error",
    FEEDMESH_SECRET: "a-bench-secret-that-is-long-enough-000",
    FEEDMESH_ACCESS_TOKEN_TTL: "4h",
    BENCH_MODULES: e.modules,
    ...extra,
  };
  const child = spawnTs("server.ts", [], env, nodeArgs);
  const lines = new Lines(child, "feedmesh server");
  const ready = await lines.next<{ grpc: number; http: number }>("ready", 180_000);
  const grpc = `127.0.0.1:${ready.grpc}`;
  const transport = createGrpcJsTransport(grpc);
  const identity = createClient(IdentityService, transport);
  await identity.getJwks({}); // the identity service creates its signing key on first use
  return {
    child,
    lines,
    grpc,
    http: `127.0.0.1:${ready.http}`,
    identity,
    feed: createClient(FeedService, transport),
    post: createClient(PostService, transport),
    async settle() {
      child.stdin!.write("settle\n");
      return (await lines.next<{ settled: number }>("settled", 1_800_000)).settled;
    },
    async stats() {
      child.stdin!.write("stats\n");
      return (await lines.next<{ stats: Record<string, number> }>("stats", 30_000)).stats;
    },
    async profile(file, fn) {
      child.stdin!.write("profile-start\n");
      await lines.next("profiling", 30_000);
      try {
        return await fn();
      } finally {
        child.stdin!.write(`profile-stop ${file}\n`);
        await lines.next("profiled", 120_000);
      }
    },
    close: () => stop(child),
  };
}

/**
 * Creates each user's posts through CreatePost (authors interleaved in a seeded random order),
 * `inFlight` at a time, then waits until the fan-out has consumed them all. Returns the rates.
 */
export async function createPosts(sut: Sut, l: Loaded, seed: number, inFlight: number, expectedEntries: number) {
  const r = rng(seed);
  const authors: number[] = [];
  l.graph.posts.forEach((k, u) => {
    for (let i = 0; i < k; i++) authors.push(u);
  });
  for (let i = authors.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [authors[i], authors[j]] = [authors[j]!, authors[i]!];
  }
  const p = progress(`${l.graph.name}: CreatePost`, authors.length, "posts");
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < authors.length) {
        const a = authors[next++]!;
        const text = caption(r);
        const res = await sut.post.createPost(
          { caption: text, requestId: randomUUID() },
          { headers: { authorization: `Bearer ${l.tokens[a]}` } },
        );
        const createTime = res.post!.createTime!;
        l.posts.push({
          author: a,
          postId: res.post!.postId,
          caption: text,
          createTime: Number(createTime.seconds) * 1000 + createTime.nanos / 1e6,
        });
        p.add();
      }
    }),
  );
  const postRate = p.done();
  say(`${l.graph.name}: waiting for the fan-out of ${expectedEntries.toLocaleString("en")} feed entries to settle`);
  const created = performance.now();
  const settledMs = await sut.settle();
  const total = (performance.now() - t0) / 1000;
  const entryRate = expectedEntries / total;
  say(
    `${l.graph.name}: fan-out settled ${(settledMs / 1000).toFixed(1)} s after the last CreatePost; ` +
      `${expectedEntries.toLocaleString("en")} entries in ${total.toFixed(1)} s from the first post = ${Math.round(entryRate)} entries/s`,
  );
  return { posts: authors.length, postRate, entries: expectedEntries, entryRate, drainSeconds: (performance.now() - created) / 1000 };
}

/** Deletes the run's own Kafka topics (best effort). */
export async function deleteTopics(brokers: string, prefix: string) {
  const admin = new Kafka({ brokers: brokers.split(","), clientId: "feedmesh-bench", logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch (err) {
    say(`could not delete the run's Kafka topics ${prefix}*: ${(err as Error).message}`);
  } finally {
    await admin.disconnect();
  }
}
