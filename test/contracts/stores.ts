// Opens each store adapter for the contract suites: the embedded one on an in-memory SQLite
// database, the real one on Cassandra (FEEDMESH_CASSANDRA_* as the test command sets them; the
// keyspace feedmesh_test is shared across runs, each test uses fresh ids).
import type { CassandraDb } from "../../services/platform/cassandra.js";
import { CassandraDb as Cassandra } from "../../services/platform/cassandra.js";
import { createLogger } from "../../services/platform/log.js";
import { EmbeddedDb } from "../../services/platform/sqlite.js";

export type Adapter = "sqlite" | "cassandra";

let cassandra: Promise<CassandraDb> | undefined;

export function openCassandra(): Promise<CassandraDb> {
  cassandra ??= Cassandra.connect(
    {
      contactPoints: (process.env.FEEDMESH_CASSANDRA_CONTACT_POINTS ?? "127.0.0.1:19042").split(","),
      localDataCenter: process.env.FEEDMESH_CASSANDRA_LOCAL_DC ?? "datacenter1",
      keyspace: "feedmesh_test",
      replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}",
      consistency: "localQuorum",
    },
    createLogger("warn"),
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nStart the test servers first: scripts/infra/infra.sh up (npm test does it).`);
  });
  return cassandra;
}

export async function closeCassandra(): Promise<void> {
  if (cassandra) await (await cassandra).close();
  cassandra = undefined;
}

export function openSqlite(): EmbeddedDb {
  return new EmbeddedDb(null);
}
