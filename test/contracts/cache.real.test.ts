// The cache contracts on the Redis adapters, against FEEDMESH_REDIS_URL (scripts/infra/redis.sh).
// Every run writes under a key prefix of its own, removed at the end.
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FEED_SCRIPTS, RedisFeedCache } from "../../services/feed/cache.redis.js";
import { SplitRedisReadModel } from "../../services/feed/readmodel.cluster.js";
import { READ_MODEL_SCRIPTS, RedisReadModel } from "../../services/feed/readmodel.redis.js";
import { RedisConnection } from "../../services/platform/redis.js";
import { RedisPostCache } from "../../services/post/cache.redis.js";
import { feedCacheContract, postCacheContract } from "./cache.contract.js";
import { readModelContract } from "./readmodel.contract.js";

const url = process.env.FEEDMESH_REDIS_URL ?? "redis://127.0.0.1:16379";
const prefix = `feedmesh-test:${process.pid}-${Date.now().toString(36)}:`;

let connection: Promise<RedisConnection<typeof READ_MODEL_SCRIPTS>> | undefined;
const redis = () => {
  connection ??= RedisConnection.open({ url }, READ_MODEL_SCRIPTS);
  return connection;
};

after(async () => {
  if (!connection) return;
  const conn = await connection;
  for await (const keys of conn.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length) await conn.client.unlink(keys);
  }
  await conn.close();
});

feedCacheContract("redis", async ({ ttlSeconds }) => new RedisFeedCache(await redis(), { ttlSeconds, prefix }));
postCacheContract("redis", async () => new RedisPostCache(await redis(), { prefix }));
let models = 0;
for (const [name, Model] of [
  ["redis", RedisReadModel],
  ["redis, split page (single-key commands, as a Redis Cluster needs)", SplitRedisReadModel],
] as const)
  readModelContract(name, async ({ timelineCap }) => {
    const conn = await redis();
    const own = `${prefix}m${++models}:`; // a prefix per model: the celebrity epoch is per prefix
    const model = new Model(conn, { ttlSeconds: 60, countsTtlSeconds: 60, feedTtlSeconds: 60, timelineCap }, own);
    return { model, feeds: new RedisFeedCache(conn as unknown as RedisConnection<typeof FEED_SCRIPTS>, { ttlSeconds: 60, prefix: own }) };
  });

describe("Redis cache failures", () => {
  it("fails fast when Redis is down", async () => {
    const t0 = Date.now();
    await assert.rejects(RedisConnection.open({ url: "redis://127.0.0.1:1", connectTimeoutMs: 500 }), Error);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it("fails after the timeouts when Redis accepts but never answers", async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s)); // a black hole
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const t0 = Date.now();
      await assert.rejects(RedisConnection.open({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500, commandTimeoutMs: 500 }), Error);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("throws, rather than hangs, once the connection is closed", async () => {
    const conn = await RedisConnection.open({ url }, FEED_SCRIPTS);
    const feeds = new RedisFeedCache(conn, { ttlSeconds: 60, prefix });
    const posts = new RedisPostCache(conn, { prefix });
    assert.equal(await feeds.isCached("1"), false);
    await conn.close();
    await assert.rejects(feeds.page("1", 10, null), Error);
    await assert.rejects(feeds.add(["1", "2"], { postId: "1", authorId: "2" }, 10), Error);
    await assert.rejects(posts.getMany(["1"]), Error);
    await conn.close(); // idempotent
  });

  it("fails fast while Redis hangs or is gone, and recovers when it is back", async () => {
    // A TCP proxy in front of Redis that can swallow replies, or go away.
    const upstream = new URL(url);
    const sockets: Socket[] = [];
    let swallow = false;
    const proxy = (port = 0) =>
      new Promise<Server>((resolve) => {
        const server = createServer((client) => {
          const up = connect(Number(upstream.port || 6379), upstream.hostname);
          sockets.push(client, up);
          client.on("data", (d) => up.write(d));
          up.on("data", (d) => swallow || client.write(d));
          for (const [a, b] of [
            [client, up],
            [up, client],
          ] as const) {
            a.on("error", () => b.destroy());
            a.on("close", () => b.destroy());
          }
        });
        server.listen(port, "127.0.0.1", () => resolve(server));
      });
    let server = await proxy();
    const { port } = server.address() as { port: number };
    const conn = await RedisConnection.open({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 }, FEED_SCRIPTS);
    try {
      const feeds = new RedisFeedCache(conn, { ttlSeconds: 60, prefix });
      await feeds.fill("42", [], 10);
      assert.equal(await feeds.isCached("42"), true);

      swallow = true; // Redis hangs: each call fails after the command timeout
      let t0 = Date.now();
      await assert.rejects(feeds.page("42", 10, null), /no reply within 300 ms/);
      await assert.rejects(feeds.add(["42", "43"], { postId: "1", authorId: "2" }, 10), /no reply/);
      assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);

      // Redis is gone: calls fail at once while the client reconnects in the background.
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets.splice(0)) s.destroy();
      await closed;
      await sleep(50);
      t0 = Date.now();
      await assert.rejects(feeds.isCached("42"), /not connected/);
      assert.ok(Date.now() - t0 < 100, `took ${Date.now() - t0} ms`);

      // Back: the client reconnects by itself.
      swallow = false;
      server = await proxy(port);
      const deadline = Date.now() + 10_000;
      while (!conn.client.isReady && Date.now() < deadline) await sleep(50);
      assert.equal(await feeds.isCached("42"), true);
    } finally {
      await conn.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
