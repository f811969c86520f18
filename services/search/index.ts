// The search module: an index of posts and users, filled from post, user and engagement events.
import { SearchService } from "../../gen/ts/feedmesh/search/v1/search_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { searchRoutes } from "./routes.js";
import { Search } from "./search.js";
import { CassandraSearchStore } from "./store.cassandra.js";
import type { SearchStore } from "./store.js";
import { SqliteSearchStore } from "./store.sqlite.js";

export async function searchModule(rt: Runtime): Promise<ServiceModule> {
  const store = await pickStore<SearchStore>(rt, {
    sqlite: (db) => new SqliteSearchStore(db),
    cassandra: (db) => CassandraSearchStore.open(db),
  });
  const search = new Search(store);
  rt.bus.subscribe("search", "posts", (d) => search.onPost(d));
  rt.bus.subscribe("search", "users", (d) => search.onUser(d));
  rt.bus.subscribe("search", "engagement", (d) => search.onEngagement(d));
  return { name: "search", services: [registration(SearchService, searchRoutes(search, rt.clients, rt.auth, rt.pageTokens))] };
}
