// Likes, comments and counters on Cassandra, Kafka and Redis, all services in one process.
import { engagementSuite } from "./engagement.suite.js";

engagementSuite("Cassandra, Kafka, Redis", {
  FEEDMESH_STORE: "cassandra",
  FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e_engagement",
  FEEDMESH_KAFKA_TOPIC_PREFIX: `engagement${process.pid}.`,
  FEEDMESH_SECRET: "an-engagement-suite-secret-long-enough-0",
});
