// The hybrid feed on Cassandra, Kafka and Redis, all services in one process.
import { hybridFeedSuite } from "./feed.suite.js";

hybridFeedSuite("Cassandra, Kafka, Redis", {
  FEEDMESH_STORE: "cassandra",
  FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
  FEEDMESH_KAFKA_TOPIC_PREFIX: `feed${process.pid}.`,
  FEEDMESH_SECRET: "a-feed-suite-secret-long-enough-00000",
});
