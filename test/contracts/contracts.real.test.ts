// The same store contracts on the real adapters: Cassandra (standing in for ScyllaDB).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CountsCachedStore } from "../../services/engagement/store.cached.js";
import { CassandraEngagementStore } from "../../services/engagement/store.cassandra.js";
import type { Counts } from "../../services/engagement/store.js";
import { CassandraFeedStore } from "../../services/feed/store.cassandra.js";
import { CassandraGraphStore } from "../../services/graph/store.cassandra.js";
import { CassandraIdentityStore } from "../../services/identity/store.cassandra.js";
import { CassandraMediaStore } from "../../services/media/store.cassandra.js";
import { CassandraNotificationStore } from "../../services/notification/store.cassandra.js";
import { KafkaBus } from "../../services/platform/bus.kafka.js";
import { OptionalCache } from "../../services/platform/cache.optional.js";
import { types } from "../../services/platform/cassandra.js";
import { encodeEvent } from "../../services/platform/events.js";
import { createKafka, ensureTopics, type KafkaOptions } from "../../services/platform/kafka.js";
import { createLogger } from "../../services/platform/log.js";
import { OutboxRelay } from "../../services/platform/outbox.relay.js";
import { RedisConnection } from "../../services/platform/redis.js";
import { RedisPostCache } from "../../services/post/cache.redis.js";
import { CassandraPostStore } from "../../services/post/store.cassandra.js";
import { CassandraSearchStore } from "../../services/search/store.cassandra.js";
import { eventually } from "../harness.js";
import { busContract } from "./bus.contract.js";
import { engagementStoreContract } from "./engagement.contract.js";
import { feedStoreContract } from "./feed.contract.js";
import { graphStoreContract } from "./graph.contract.js";
import { identityStoreContract } from "./identity.contract.js";
import { mediaStoreContract } from "./media.contract.js";
import { notificationStoreContract } from "./notification.contract.js";
import { postStoreContract } from "./post.contract.js";
import { searchStoreContract } from "./search.contract.js";
import { closeCassandra, openCassandra } from "./stores.js";

const relays: OutboxRelay[] = [];
let redis: RedisConnection | undefined;
after(async () => {
  for (const r of relays) await r.stop();
  await closeCassandra();
  await redis?.close();
});
feedStoreContract("cassandra", async () => CassandraFeedStore.open(await openCassandra()));
postStoreContract("cassandra", async () => CassandraPostStore.open(await openCassandra()));
graphStoreContract("cassandra", async () => CassandraGraphStore.open(await openCassandra()));
identityStoreContract("cassandra", async () => CassandraIdentityStore.open(await openCassandra()));
engagementStoreContract("cassandra", async () => CassandraEngagementStore.open(await openCassandra()));
engagementStoreContract("cassandra, counts cached in Redis", async () => {
  const url = process.env.FEEDMESH_REDIS_URL ?? "redis://127.0.0.1:16379";
  const cache = new OptionalCache<Counts>(
    "counts cache",
    async () => {
      redis ??= await RedisConnection.open({ url });
      return new RedisPostCache(redis, { prefix: `test${Date.now()}:counts:` });
    },
    10,
    createLogger("silent"),
  );
  return new CountsCachedStore(await CassandraEngagementStore.open(await openCassandra()), cache);
});
mediaStoreContract("cassandra", async () => CassandraMediaStore.open(await openCassandra()));
notificationStoreContract("cassandra", async () => CassandraNotificationStore.open(await openCassandra()));
searchStoreContract("cassandra", async () => CassandraSearchStore.open(await openCassandra()));

busContract("Kafka (Cassandra outbox relayed to Kafka)", async () => {
  const log = createLogger("warn");
  const options: KafkaOptions = {
    brokers: (process.env.FEEDMESH_KAFKA_BROKERS ?? "127.0.0.1:19092").split(","),
    clientId: "contract-test",
    partitions: 3,
    prefix: "contract.",
    replicationFactor: 1,
    ssl: false,
  };
  const kafka = createKafka(options, log);
  await ensureTopics(kafka, options);
  const db = await openCassandra();
  const component = `contract${process.pid}x${relays.length}`;
  const relay = new OutboxRelay(db, kafka, [component], log, options.prefix);
  relay.start();
  relays.push(relay);
  return {
    publish: async (key, postId) => {
      const e = encodeEvent("posts", key, { event: { case: "created", value: { postId, authorId: "1" } } });
      await db.batch([db.outbox(component, e)]);
    },
    newBus: () => new KafkaBus(kafka, log, options.prefix),
    published: () => eventually(async () => assert.equal(await relay.pending(), 0), 60_000),
  };
});

/** Kafka and Cassandra for a relay under test. */
async function relaySetup() {
  const log = createLogger("warn");
  const options: KafkaOptions = {
    brokers: (process.env.FEEDMESH_KAFKA_BROKERS ?? "127.0.0.1:19092").split(","),
    clientId: "relay-test",
    partitions: 3,
    replicationFactor: 1,
    ssl: false,
    prefix: "contract.",
  };
  return { log, options, kafka: createKafka(options, log), db: await openCassandra() };
}

describe("OutboxRelay", () => {
  it("relays a row that becomes visible after a newer one was relayed", async () => {
    const { log, options, kafka, db } = await relaySetup();
    const component = `late${process.pid}`;
    const relay = new OutboxRelay(db, kafka, [component], log, options.prefix);
    relays.push(relay);
    relay.start();
    const key = `late-${Date.now()}`;
    const got: string[] = [];
    const bus = new KafkaBus(kafka, log, options.prefix);
    bus.subscribe(`relay-${key}`, "posts", async ({ key: k, event }) => {
      if (k === key && event.event.case === "created") got.push(event.event.value.postId);
    });
    await bus.start();
    try {
      const newer = encodeEvent("posts", key, { event: { case: "created", value: { postId: "2", authorId: "1" } } });
      await db.batch([db.outbox(component, newer)]);
      await eventually(async () => assert.deepEqual(got, ["2"]), 60_000);
      // A row with an older id shows up only now (a slow write): it must still be relayed.
      const older = encodeEvent("posts", key, { event: { case: "created", value: { postId: "1", authorId: "1" } } });
      const statement = db.outbox(component, older);
      await db.execute(statement.query.replace("now()", "?"), [
        ...statement.params.slice(0, 2),
        types.TimeUuid.min(new Date(Date.now() - 3_000), 0),
        ...statement.params.slice(2),
      ]);
      await eventually(async () => assert.deepEqual([...got].sort(), ["1", "2"]), 60_000);
    } finally {
      await bus.stop();
    }
  });

  it("relays another process's events while its own writes keep it busy", async () => {
    const { log, options, kafka, db } = await relaySetup();
    const component = `busy${process.pid}`;
    const relay = new OutboxRelay(db, kafka, [component], log, options.prefix, 500);
    relays.push(relay);
    relay.start();
    const run = `busy-${Date.now()}`;
    const got = new Set<string>();
    const bus = new KafkaBus(kafka, log, options.prefix);
    bus.subscribe(`relay-${run}`, "posts", async ({ event }) => {
      if (event.event.case === "created" && event.event.value.authorId === run) got.add(event.event.value.postId);
    });
    await bus.start();
    try {
      const ev = (key: string, postId: string) =>
        encodeEvent("posts", key, { event: { case: "created", value: { postId, authorId: run } } });
      // Written as another process would: no local notification, only the sweep finds it.
      const foreign = db.outbox(component, ev("foreign-key", "foreign"));
      await db.execute(foreign.query, foreign.params);
      // Meanwhile this process writes to one shard every 20 ms, so the relay is never idle.
      const deadline = Date.now() + 8_000;
      for (let i = 0; !got.has("foreign") && Date.now() < deadline; i++) {
        await db.batch([db.outbox(component, ev("local-key", `local${i}`))]);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(got.has("foreign"), "the foreign event waited for the local writes to stop");
      assert.ok(got.size > 1, "the local events were relayed too");
    } finally {
      await bus.stop();
    }
  });
});
