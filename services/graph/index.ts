// The graph module: follow edges, counts, privacy and follow requests.
import { Code, ConnectError } from "@connectrpc/connect";
import { GraphService } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import type { Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Graph } from "./graph.js";
import { graphRoutes } from "./routes.js";
import { SqliteGraphStore } from "./store.sqlite.js";

export function graphModule(rt: Runtime): ServiceModule {
  const userExists = async (userId: string) => {
    try {
      await rt.clients.identity.getUser({ userId }, await rt.auth.asService());
      return true;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return false;
      throw err;
    }
  };
  const graph = new Graph(new SqliteGraphStore(rt.db), userExists);
  return { name: "graph", services: [registration(GraphService, graphRoutes(graph, rt.pageTokens))] };
}
