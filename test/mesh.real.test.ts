// The microservices mode on the real backends: identity, graph, post, feed, fanout and engagement
// each in its own process, talking gRPC, on Cassandra, Kafka and Redis. Killing a target and starting it again
// needs no other restart, and loses nothing.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createClient as createRedis } from "redis";
import { ServerReflection } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { createGrpcJsTransport } from "../services/platform/transport.grpc.js";
import { type Clients, clientsFor, eventually, newUser, readFeed } from "./harness.js";
import { Mesh } from "./mesh.js";

const KAFKA = new URL("../scripts/infra/kafka.sh", import.meta.url).pathname;
const CASSANDRA = new URL("../scripts/infra/cassandra.sh", import.meta.url).pathname;
const execFileAsync = promisify(execFile);
const TARGETS = ["identity", "graph", "post", "feed", "fanout", "engagement"] as const;
type Target = (typeof TARGETS)[number];

describe("microservices mode on Cassandra and Kafka", () => {
  const env: Record<string, string> = {
    FEEDMESH_STORE: "cassandra",
    FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
    FEEDMESH_KAFKA_TOPIC_PREFIX: `e2e${process.pid}.`,
    FEEDMESH_SECRET: "an-e2e-secret-that-is-long-enough-000",
    FEEDMESH_LOG_LEVEL: "info",
    FEEDMESH_CELEBRITY_THRESHOLD: "3",
    FEEDMESH_FEED_CACHE_SIZE: "10",
  };
  let c: Clients;

  let mesh: Mesh<Target>;
  const start = (t: Target) => mesh.start(t);
  const kill = (t: Target, signal: NodeJS.Signals) => mesh.kill(t, signal);
  const grpcPort = (t: Target) => mesh.ports.get(t)!.grpc;

  before(async () => {
    mesh = await Mesh.start(TARGETS, env);
    // Calls enter where the service lives: one client per service, each on its own process.
    const byService = (t: Target) => clientsFor(createGrpcJsTransport(`127.0.0.1:${grpcPort(t)}`));
    const [identity, graph, post, feed] = [byService("identity"), byService("graph"), byService("post"), byService("feed")];
    c = { ...identity, identity: identity.identity, graph: graph.graph, post: post.post, feed: feed.feed };
  });

  after(() => mesh.stop());

  it("answers reflection for the whole mesh from any target (the edge routes reflection to one)", async () => {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort("identity")}` });
    const reflection = createClient(ServerReflection, transport);
    const names: string[] = [];
    for await (const res of reflection.serverReflectionInfo(
      (async function* () {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
      })(),
    )) {
      if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((x) => x.name));
    }
    for (const s of ["identity.v1.IdentityService", "graph.v1.GraphService", "post.v1.PostService", "feed.v1.FeedService"]) {
      assert.ok(names.includes(`feedmesh.${s}`), `${s} in ${names.join(", ")}`);
    }
  });

  it("follows, posts, fans out through Kafka, deletes", async () => {
    const alice = await newUser(c, "alice");
    const bob = await newUser(c, "bob");
    await c.graph.follow({ userId: alice.id }, bob.opts);
    const post = (await c.post.createPost({ caption: "over the mesh", requestId: "m-1" }, alice.opts)).post!;
    const retry = (await c.post.createPost({ caption: "over the mesh", requestId: "m-1" }, alice.opts)).post!;
    assert.equal(retry.postId, post.postId);
    await eventually(async () => {
      const feed = await c.feed.getHomeFeed({}, bob.opts);
      assert.deepEqual(
        feed.items.map((i) => i.post?.postId),
        [post.postId],
      );
      assert.equal(feed.items[0]?.author?.username, alice.username);
    });
    await c.post.deletePost({ postId: post.postId }, alice.opts);
    assert.deepEqual((await c.feed.getHomeFeed({}, bob.opts)).items, []);
    await c.graph.unfollow({ userId: alice.id }, bob.opts);
  });

  it("merges a celebrity, pages past the Redis cap, and stays right after Redis is flushed", async () => {
    const star = await newUser(c, "star");
    const friend = await newUser(c, "friend");
    const reader = await newUser(c, "reader");
    await c.graph.follow({ userId: friend.id }, reader.opts);
    for (const u of [reader, await newUser(c, "fan"), await newUser(c, "fan")]) await c.graph.follow({ userId: star.id }, u.opts);
    const made: string[] = [];
    for (let i = 0; i < 14; i++) made.push((await c.post.createPost({ caption: `friend ${i}` }, friend.opts)).post!.postId);
    made.push((await c.post.createPost({ caption: "from the star" }, star.opts)).post!.postId);
    const expected = [...made].reverse();
    await eventually(async () => assert.deepEqual(await readFeed(c, reader.opts, 4), expected), 30_000);
    const redis = createRedis({ url: process.env.FEEDMESH_REDIS_URL ?? "redis://127.0.0.1:16379" });
    await redis.connect();
    try {
      const keys = async () => (await redis.keys(`*${reader.id}*`)).length;
      assert.ok((await keys()) > 0, "the reader's feed is cached");
      await redis.flushAll();
      assert.deepEqual(await readFeed(c, reader.opts, 4), expected, "a flushed cache reads from the store");
      assert.ok((await keys()) > 0, "and refills");
    } finally {
      await redis.quit();
    }
  });

  it("answers a cached reader's feed from the feed target alone: no call to another target", async () => {
    const author = await newUser(c, "author");
    const reader = await newUser(c, "reader");
    await c.graph.follow({ userId: author.id }, reader.opts);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await c.post.createPost({ caption: `solo ${i}` }, author.opts)).post!.postId);
    const expected = [...made].reverse();
    const read = async () => {
      const res = await c.feed.getHomeFeed({ pageSize: 2 }, reader.opts);
      const next = await c.feed.getHomeFeed({ pageSize: 2, pageToken: res.nextPageToken }, reader.opts);
      return [...res.items, ...next.items];
    };
    await eventually(
      async () =>
        assert.deepEqual(
          (await read()).map((i) => i.post?.postId),
          expected,
        ),
      30_000,
    );
    await read(); // the first reads filled what the read model lacked
    const others = TARGETS.filter((t) => t !== "feed");
    await Promise.all(others.map((t) => kill(t, "SIGKILL")));
    try {
      const items = await read();
      assert.deepEqual(
        items.map((i) => i.post?.postId),
        expected,
      );
      assert.equal(items[0]?.author?.username, author.username);
      assert.ok(items.every((i) => i.counters?.postId === i.post?.postId));
    } finally {
      await start("identity");
      await Promise.all(others.filter((t) => t !== "identity").map(start));
    }
  });

  it("loses nothing when the fanout is killed and started again, and needs no other restart", async () => {
    const author = await newUser(c, "author");
    const reader = await newUser(c, "reader");
    await c.graph.follow({ userId: author.id }, reader.opts);
    await c.graph.follow({ userId: author.id }, (await newUser(c, "other")).opts);
    // A burst, and the fanout killed in the middle of working it off.
    const made: string[] = [];
    for (let round = 0; round < 6; round++) {
      const posts = await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.post.createPost({ caption: `burst ${round}.${i}` }, author.opts)),
      );
      made.push(...posts.map((p) => p.post!.postId));
    }
    await new Promise((r) => setTimeout(r, 300));
    await kill("fanout", "SIGKILL");
    made.push(
      ...(await Promise.all([0, 1, 2].map((i) => c.post.createPost({ caption: `while down ${i}` }, author.opts)))).map(
        (p) => p.post!.postId,
      ),
    );
    await start("fanout");
    made.sort((a, b) => (a.length !== b.length ? a.length - b.length : a < b ? -1 : 1));
    await eventually(async () => {
      const feed = await c.feed.getHomeFeed({ pageSize: 100 }, reader.opts);
      assert.deepEqual(
        feed.items.map((i) => i.post?.postId),
        [...made].reverse(),
      );
    }, 60_000);
    // The graph restarts; its callers reconnect on their own.
    await kill("graph", "SIGKILL");
    await start("graph");
    await eventually(async () => {
      const r = await c.graph.getFollowStats({ userId: author.id }, reader.opts);
      assert.equal(r.followerCount, 2n);
    });
  });

  it("delivers every post acknowledged while Kafka was down, once Kafka is back", async () => {
    const author = await newUser(c, "author");
    const reader = await newUser(c, "reader");
    await c.graph.follow({ userId: author.id }, reader.opts);
    const made: string[] = [];
    await execFileAsync("bash", [KAFKA, "stop"], { timeout: 120_000 });
    try {
      for (let i = 0; i < 5; i++) made.push((await c.post.createPost({ caption: `kafka down ${i}` }, author.opts)).post!.postId);
    } finally {
      await execFileAsync("bash", [KAFKA, "start"], { timeout: 180_000 });
    }
    await eventually(async () => {
      const feed = await c.feed.getHomeFeed({ pageSize: 10 }, reader.opts);
      assert.deepEqual(
        feed.items.map((i) => i.post?.postId),
        [...made].reverse(),
      );
    }, 120_000);
  });

  it("refuses a post it cannot store with UNAVAILABLE, and recovers without restarts", async () => {
    const author = await newUser(c, "author");
    await execFileAsync("bash", [CASSANDRA, "stop"], { timeout: 120_000 });
    try {
      await assert.rejects(
        c.post.createPost({ caption: "nowhere to go" }, author.opts),
        (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable,
      );
    } finally {
      // The stopped JVM may hold its ports for a moment after it exits.
      await eventually(() => execFileAsync("bash", [CASSANDRA, "start"], { timeout: 240_000 }), 60_000);
    }
    const post = await eventually(async () => (await c.post.createPost({ caption: "stored again" }, author.opts)).post!, 120_000);
    assert.equal((await c.post.getPost({ postId: post.postId }, author.opts)).post?.caption, "stored again");
  });
});
