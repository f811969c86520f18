// What one home-feed page costs in operations: Cassandra requests (by statement), Redis commands
// and socket writes per GetHomeFeed, over the data a `make bench` run left in its keyspace.
//   eval "$(bash scripts/infra/infra.sh env)"
//   FEEDMESH_STORE=cassandra FEEDMESH_CASSANDRA_KEYSPACE=feedmesh_bench FEEDMESH_REDIS_URL=redis://127.0.0.1:16379/11 \
//     FEEDMESH_KAFKA_TOPIC_PREFIX=ops. FEEDMESH_CELEBRITY_THRESHOLD=400 node --import tsx bench/feed/ops.ts [readers]
// It counts by wrapping the drivers' entry points in this process (a diagnostic, not a load test):
// the first page of each of the first [readers] users (50), once to warm the caches, then counted.
import net from "node:net";
import { createClient } from "@connectrpc/connect";
import cassandra from "cassandra-driver";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { MODULES } from "../../services/modules.js";
import { startApp } from "../../services/platform/app.js";
import { loadConfig } from "../../services/platform/config.js";
import { createGrpcJsTransport } from "../../services/platform/transport.grpc.js";
import { mintTokens } from "./data.js";

const counts = new Map<string, number>();
const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
type Fn = (...args: unknown[]) => unknown;
function wrap(proto: object, name: string, key: (self: unknown, args: unknown[]) => string): void {
  const target = proto as Record<string, Fn>;
  const original = target[name]!;
  target[name] = function (this: unknown, ...args: unknown[]) {
    count(key(this, args));
    return original.apply(this, args);
  };
}
wrap(net.Socket.prototype, "write", (self) => `socket writes to :${(self as net.Socket).remotePort}`);
wrap(cassandra.Client.prototype, "execute", (_self, args) => `CQL ${String(args[0]).replace(/\s+/g, " ").slice(0, 70)}`);
wrap(cassandra.Client.prototype, "batch", () => "CQL batch");

const readers = Number(process.argv[2] ?? 50);
const names = ["identity", "graph", "post", "feed", "engagement"] as const;
const config = loadConfig({
  ...process.env,
  FEEDMESH_GRPC_ADDR: "127.0.0.1:0",
  FEEDMESH_HTTP_ADDR: "127.0.0.1:0",
  FEEDMESH_LOG_LEVEL: "warn",
});
const app = await startApp(config, Object.fromEntries(names.map((n) => [n, MODULES[n]])));
const cql = new cassandra.Client({
  contactPoints: config.FEEDMESH_CASSANDRA_CONTACT_POINTS.split(","),
  localDataCenter: "datacenter1",
  keyspace: config.FEEDMESH_CASSANDRA_KEYSPACE,
  encoding: { useBigIntAsLong: true },
});
const ids = (await cql.execute("SELECT user_id FROM identity_users LIMIT ?", [readers], { prepare: true })).rows.map((r) =>
  r.user_id.toString(),
);
const tokens = await mintTokens(cql, config.FEEDMESH_ISSUER, ids);
await cql.shutdown();
const client = createClient(FeedService, createGrpcJsTransport(`127.0.0.1:${app.server.grpcPort}`));
const pages = () => Promise.all(tokens.map((t) => client.getHomeFeed({ pageSize: 10 }, { headers: { authorization: `Bearer ${t}` } })));
await pages(); // warms the caches
counts.clear();
for (const t of tokens) await client.getHomeFeed({ pageSize: 10 }, { headers: { authorization: `Bearer ${t}` } });
process.stdout.write(`per GetHomeFeed (first page of 10), ${tokens.length} readers:\n`);
for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${(v / tokens.length).toFixed(2).padStart(7)}  ${k}\n`);
await app.stop();
process.exit(0);
