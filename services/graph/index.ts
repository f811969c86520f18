// The graph module: follow edges, counts, privacy and follow requests, and the consumer of its
// own follow events that keeps the celebrity index through threshold crossings.
import { Code, ConnectError } from "@connectrpc/connect";
import { GraphService } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { readModelOf } from "../feed/readmodel.safe.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Crossings } from "./celebrities.js";
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
  const threshold = rt.config.FEEDMESH_CELEBRITY_THRESHOLD;
  const model = readModelOf(rt);
  const graph = new Graph(store, userExists, threshold, {
    async followed(reader, author) {
      await Promise.all([model.write.unhideAuthor(reader, author), model.write.celebritiesChanged(reader)]);
    },
    async unfollowed(reader, author) {
      await Promise.all([model.required.hideAuthor(reader, author), model.required.celebritiesChanged(reader)]);
    },
  });
  const crossings = new Crossings(store, threshold, rt.log.child({ component: "celebrities" }), undefined, () =>
    model.required.celebrityStatesChanged(),
  );
  rt.bus.subscribe("graph", "follows", (d) => crossings.onEvent(d));
  return {
    name: "graph",
    publishes: true,
    stop: () => model.close(),
    services: [registration(GraphService, graphRoutes(graph, rt.pageTokens))],
  };
}
