// The store contracts on the embedded adapters (in-memory SQLite): no server needed.
import { SqliteFeedStore } from "../../services/feed/store.sqlite.js";
import { SqliteGraphStore } from "../../services/graph/store.sqlite.js";
import { SqliteIdentityStore } from "../../services/identity/store.sqlite.js";
import { SqlitePostStore } from "../../services/post/store.sqlite.js";
import { feedStoreContract } from "./feed.contract.js";
import { graphStoreContract } from "./graph.contract.js";
import { identityStoreContract } from "./identity.contract.js";
import { postStoreContract } from "./post.contract.js";
import { openSqlite } from "./stores.js";

feedStoreContract("sqlite", async () => new SqliteFeedStore(openSqlite()));
postStoreContract("sqlite", async () => new SqlitePostStore(openSqlite()));
graphStoreContract("sqlite", async () => new SqliteGraphStore(openSqlite()));
identityStoreContract("sqlite", async () => new SqliteIdentityStore(openSqlite()));
