// The same store contracts on the real adapters: Cassandra (standing in for ScyllaDB).
import { after } from "node:test";
import { CassandraFeedStore } from "../../services/feed/store.cassandra.js";
import { CassandraGraphStore } from "../../services/graph/store.cassandra.js";
import { CassandraIdentityStore } from "../../services/identity/store.cassandra.js";
import { CassandraPostStore } from "../../services/post/store.cassandra.js";
import { feedStoreContract } from "./feed.contract.js";
import { graphStoreContract } from "./graph.contract.js";
import { identityStoreContract } from "./identity.contract.js";
import { postStoreContract } from "./post.contract.js";
import { closeCassandra, openCassandra } from "./stores.js";

after(closeCassandra);
feedStoreContract("cassandra", async () => CassandraFeedStore.open(await openCassandra()));
postStoreContract("cassandra", async () => CassandraPostStore.open(await openCassandra()));
graphStoreContract("cassandra", async () => CassandraGraphStore.open(await openCassandra()));
identityStoreContract("cassandra", async () => CassandraIdentityStore.open(await openCassandra()));
