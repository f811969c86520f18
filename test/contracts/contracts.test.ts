// The store contracts on the embedded adapters (in-memory SQLite): no server needed.
import { CountsCachedStore } from "../../services/engagement/store.cached.js";
import type { Counts } from "../../services/engagement/store.js";
import { SqliteEngagementStore } from "../../services/engagement/store.sqlite.js";
import { SqliteFeedStore } from "../../services/feed/store.sqlite.js";
import { SqliteGraphStore } from "../../services/graph/store.sqlite.js";
import { SqliteIdentityStore } from "../../services/identity/store.sqlite.js";
import { SqliteMediaStore } from "../../services/media/store.sqlite.js";
import { SqliteNotificationStore } from "../../services/notification/store.sqlite.js";
import { EmbeddedBus } from "../../services/platform/bus.embedded.js";
import { OptionalCache } from "../../services/platform/cache.optional.js";
import { encodeEvent } from "../../services/platform/events.js";
import { createLogger } from "../../services/platform/log.js";
import { MemoryPostCache } from "../../services/post/cache.memory.js";
import { SqlitePostStore } from "../../services/post/store.sqlite.js";
import { SqliteSearchStore } from "../../services/search/store.sqlite.js";
import { busContract } from "./bus.contract.js";
import { engagementStoreContract } from "./engagement.contract.js";
import { feedStoreContract } from "./feed.contract.js";
import { graphStoreContract } from "./graph.contract.js";
import { identityStoreContract } from "./identity.contract.js";
import { mediaStoreContract } from "./media.contract.js";
import { notificationStoreContract } from "./notification.contract.js";
import { postStoreContract } from "./post.contract.js";
import { searchStoreContract } from "./search.contract.js";
import { openSqlite } from "./stores.js";

feedStoreContract("sqlite", async () => new SqliteFeedStore(openSqlite()));
postStoreContract("sqlite", async () => new SqlitePostStore(openSqlite()));
graphStoreContract("sqlite", async () => new SqliteGraphStore(openSqlite()));
identityStoreContract("sqlite", async () => new SqliteIdentityStore(openSqlite()));
engagementStoreContract("sqlite", async () => new SqliteEngagementStore(openSqlite()));
engagementStoreContract(
  "sqlite, counts cached in memory",
  async () =>
    new CountsCachedStore(
      new SqliteEngagementStore(openSqlite()),
      new OptionalCache<Counts>("counts cache", async () => new MemoryPostCache(), 10, createLogger("silent")),
    ),
);
mediaStoreContract("sqlite", async () => new SqliteMediaStore(openSqlite()));
notificationStoreContract("sqlite", async () => new SqliteNotificationStore(openSqlite()));
searchStoreContract("sqlite", async () => new SqliteSearchStore(openSqlite()));

busContract("embedded (SQLite outbox)", async () => {
  const db = openSqlite();
  return {
    publish: async (key, postId) => {
      const e = encodeEvent("posts", key, { event: { case: "created", value: { postId, authorId: "1" } } });
      db.appendEvent(e.topic, e.key, e.payload, e.headers);
    },
    newBus: () => new EmbeddedBus(db, createLogger("silent")),
    // the outbox is the bus: written is published
    published: async () => {},
  };
});
