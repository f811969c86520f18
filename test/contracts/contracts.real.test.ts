// The same store contracts on the real adapters: Cassandra (standing in for ScyllaDB).
import { after } from "node:test";
import { CassandraFeedStore } from "../../services/feed/store.cassandra.js";
import { CassandraGraphStore } from "../../services/graph/store.cassandra.js";
import { CassandraIdentityStore } from "../../services/identity/store.cassandra.js";
import { KafkaBus } from "../../services/platform/bus.kafka.js";
import { encodeEvent } from "../../services/platform/events.js";
import { createKafka, ensureTopics, type KafkaOptions } from "../../services/platform/kafka.js";
import { createLogger } from "../../services/platform/log.js";
import { OutboxRelay } from "../../services/platform/outbox.relay.js";
import { CassandraPostStore } from "../../services/post/store.cassandra.js";
import { busContract } from "./bus.contract.js";
import { feedStoreContract } from "./feed.contract.js";
import { graphStoreContract } from "./graph.contract.js";
import { identityStoreContract } from "./identity.contract.js";
import { postStoreContract } from "./post.contract.js";
import { closeCassandra, openCassandra } from "./stores.js";

const relays: OutboxRelay[] = [];
after(async () => {
  for (const r of relays) await r.stop();
  await closeCassandra();
});
feedStoreContract("cassandra", async () => CassandraFeedStore.open(await openCassandra()));
postStoreContract("cassandra", async () => CassandraPostStore.open(await openCassandra()));
graphStoreContract("cassandra", async () => CassandraGraphStore.open(await openCassandra()));
identityStoreContract("cassandra", async () => CassandraIdentityStore.open(await openCassandra()));

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
  };
});
