// The graph module: follow edges, counts, privacy and follow requests.
import { Code, ConnectError } from "@connectrpc/connect";
import { GraphService } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Graph } from "./graph.js";
import { graphRoutes } from "./routes.js";
import { CassandraGraphStore } from "./store.cassandra.js";
import type { GraphStore } from "./store.js";
import { SqliteGraphStore } from "./store.sqlite.js";

export async function graphModule(rt: Runtime): Promise<ServiceModule> {
  const userExists = async (userId: string) => {
    try {
      await rt.clients.identity.getUser({ userId }, await rt.auth.asService());
      return true;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return false;
      throw err;
    }
  };
  const store = await pickStore<GraphStore>(rt, {
    sqlite: (db) => new SqliteGraphStore(db),
    cassandra: (db) => CassandraGraphStore.open(db),
  });
  const graph = new Graph(store, userExists);
  return { name: "graph", publishes: true, services: [registration(GraphService, graphRoutes(graph, rt.pageTokens))] };
}
