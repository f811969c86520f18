// The post module: posts and each author's timeline.
import { PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Posts } from "./post.js";
import { postRoutes } from "./routes.js";
import { CassandraPostStore } from "./store.cassandra.js";
import type { PostStore } from "./store.js";
import { SqlitePostStore } from "./store.sqlite.js";

export async function postModule(rt: Runtime): Promise<ServiceModule> {
  const store = await pickStore<PostStore>(rt, { sqlite: (db) => new SqlitePostStore(db), cassandra: (db) => CassandraPostStore.open(db) });
  const posts = new Posts(store);
  // Privacy is the graph's; the post service keeps the set of private authors from its events.
  rt.bus.subscribe("post", "follows", async ({ event }) => {
    if (event.event.case === "privacyChanged") await posts.setAuthorPrivate(event.event.value.userId, event.event.value.private);
  });
  return { name: "post", publishes: true, services: [registration(PostService, postRoutes(posts, rt.clients, rt.auth, rt.pageTokens))] };
}
