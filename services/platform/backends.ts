// Opens the store and the event bus the configuration asks for: the embedded SQLite database
// with its outbox bus, or Cassandra/ScyllaDB with Kafka (outbox relayed by OutboxRelay).
import { EmbeddedBus } from "./bus.embedded.js";
import { KafkaBus } from "./bus.kafka.js";
import { CassandraDb } from "./cassandra.js";
import type { Config } from "./config.js";
import type { EventBus } from "./events.js";
import { createKafka, ensureTopics, type KafkaOptions } from "./kafka.js";
import type { Logger } from "./log.js";
import { OutboxRelay } from "./outbox.relay.js";
import { EmbeddedDb } from "./sqlite.js";

export type Store = { kind: "sqlite"; db: EmbeddedDb } | { kind: "cassandra"; db: CassandraDb };

export interface Backends {
  store: Store;
  bus: EventBus;
  /** Starts relaying the outbox of these components (real backends only). */
  startRelay(components: string[]): void;
  relay: OutboxRelay | undefined;
  /** Resolves when every event written so far has been relayed and consumed (tests, tools). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function openBackends(config: Config, log: Logger): Promise<Backends> {
  if (config.FEEDMESH_STORE !== "cassandra") {
    const db = new EmbeddedDb(config.FEEDMESH_STORE === "memory" ? null : config.FEEDMESH_DATA_DIR);
    const bus = new EmbeddedBus(db, log.child({ component: "bus" }));
    return {
      store: { kind: "sqlite", db },
      bus,
      startRelay: () => {},
      relay: undefined,
      settled: () => bus.drained(),
      close: async () => db.close(),
    };
  }
  const db = await CassandraDb.connect(
    {
      contactPoints: config.FEEDMESH_CASSANDRA_CONTACT_POINTS.split(",").map((s) => s.trim()),
      localDataCenter: config.FEEDMESH_CASSANDRA_LOCAL_DC,
      keyspace: config.FEEDMESH_CASSANDRA_KEYSPACE,
      replication: config.FEEDMESH_CASSANDRA_REPLICATION,
      consistency: config.FEEDMESH_CASSANDRA_CONSISTENCY,
      ...(config.FEEDMESH_CASSANDRA_USERNAME ? { username: config.FEEDMESH_CASSANDRA_USERNAME } : {}),
      ...(config.FEEDMESH_CASSANDRA_PASSWORD ? { password: config.FEEDMESH_CASSANDRA_PASSWORD } : {}),
    },
    log.child({ component: "cassandra" }),
  );
  const kafkaOptions: KafkaOptions = {
    brokers: config.FEEDMESH_KAFKA_BROKERS.split(",").map((s) => s.trim()),
    clientId: `feedmesh-${config.FEEDMESH_TARGET}`,
    partitions: config.FEEDMESH_KAFKA_PARTITIONS,
    prefix: config.FEEDMESH_KAFKA_TOPIC_PREFIX,
    replicationFactor: config.FEEDMESH_KAFKA_REPLICATION_FACTOR,
    ssl: config.FEEDMESH_KAFKA_SSL === "true",
    ...(config.FEEDMESH_KAFKA_SASL_MECHANISM
      ? {
          sasl: {
            mechanism: config.FEEDMESH_KAFKA_SASL_MECHANISM,
            username: config.FEEDMESH_KAFKA_SASL_USERNAME ?? "",
            password: config.FEEDMESH_KAFKA_SASL_PASSWORD ?? "",
          },
        }
      : {}),
  };
  const kafka = createKafka(kafkaOptions, log.child({ component: "kafka" }));
  await ensureTopics(kafka, kafkaOptions);
  const bus = new KafkaBus(kafka, log.child({ component: "bus" }), kafkaOptions.prefix);
  const backends: Backends = {
    store: { kind: "cassandra", db },
    bus,
    relay: undefined,
    startRelay(components) {
      if (components.length === 0) return;
      backends.relay = new OutboxRelay(db, kafka, components, log.child({ component: "relay" }), kafkaOptions.prefix);
      backends.relay.start();
    },
    async settled() {
      // Settled twice in a row: consuming an event may write new ones (a follow backfills).
      for (let quiet = 0; quiet < 2; ) {
        const pending = (await backends.relay?.pending()) ?? 0;
        await bus.drained();
        quiet = pending === 0 && ((await backends.relay?.pending()) ?? 0) === 0 ? quiet + 1 : 0;
        if (quiet === 0) await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await backends.relay?.stop();
      await db.close();
    },
  };
  return backends;
}
