// Notifications and search on Cassandra and Kafka, all services in one process: the same flows as
// notification.test.ts and search.test.ts, with events relayed through Kafka.
import { notificationSuite } from "./notification.suite.js";
import { searchSuite } from "./search.suite.js";

const env = {
  FEEDMESH_STORE: "cassandra",
  FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
  FEEDMESH_KAFKA_TOPIC_PREFIX: `notifsearch${process.pid}.`,
  FEEDMESH_SECRET: "a-notifsearch-secret-long-enough-0000",
};

notificationSuite("Cassandra and Kafka", env);
searchSuite("Cassandra and Kafka", env);
