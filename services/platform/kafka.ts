// The Kafka client of a process (kafkajs): brokers, TLS/SASL, logs through pino, and the topics.
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import { TOPICS } from "./events.js";
import type { Logger } from "./log.js";

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  partitions: number;
  /** Prepended to topic names and consumer groups, so deployments can share a cluster. */
  prefix: string;
  replicationFactor: number;
  ssl: boolean;
  sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string };
}

export function createKafka(opts: KafkaOptions, log: Logger): Kafka {
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    ssl: opts.ssl,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const level = entry.level <= logLevel.ERROR ? "error" : entry.level === logLevel.WARN ? "warn" : "debug";
      log[level]({ kafka: entry.namespace, ...entry.log }, entry.log.message);
    },
    ...(opts.sasl ? { sasl: opts.sasl as SASLOptions } : {}),
  };
  return new Kafka(config);
}

/** Creates the event topics that do not exist yet. */
export async function ensureTopics(kafka: Kafka, opts: KafkaOptions): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.keys(TOPICS)
      .map((t) => opts.prefix + t)
      .filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}
