// The notification module: each user's inbox, filled from follow, engagement, post and user events.
import { NotificationService } from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { LiveInbox, RECENT } from "./live.js";
import { Notifications } from "./notifications.js";
import { notificationRoutes } from "./routes.js";
import { CassandraNotificationStore } from "./store.cassandra.js";
import type { NotificationStore } from "./store.js";
import { SqliteNotificationStore } from "./store.sqlite.js";

/** How often an open stream looks at the inbox for what another process stored. */
const STREAM_POLL_MS = 3_000;

export async function notificationModule(rt: Runtime): Promise<ServiceModule> {
  const store = await pickStore<NotificationStore>(rt, {
    sqlite: (db) => new SqliteNotificationStore(db),
    cassandra: (db) => CassandraNotificationStore.open(db),
  });
  const live = new LiveInbox((recipientId) => store.list(recipientId, RECENT, null, false), STREAM_POLL_MS);
  const notifications = new Notifications(store, live, rt.log.child({ component: "notification" }));
  rt.bus.subscribe("notification", "follows", (d) => notifications.onFollow(d));
  rt.bus.subscribe("notification", "engagement", (d) => notifications.onEngagement(d));
  rt.bus.subscribe("notification", "posts", (d) => notifications.onPost(d));
  rt.bus.subscribe("notification", "users", (d) => notifications.onUser(d));
  return {
    name: "notification",
    services: [registration(NotificationService, notificationRoutes(notifications, live, rt.pageTokens))],
  };
}
