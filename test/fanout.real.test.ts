// Fan-out on the real backends at scale: an author with 20,000 followers, through Kafka into
// Cassandra, every follower's feed written once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openFeedStore } from "../services/feed/index.js";
import type { CassandraDb } from "../services/platform/cassandra.js";
import { IdGenerator } from "../services/platform/ids.js";
import { eventually, newUser, startSystem, type TestSystem } from "./harness.js";

const FOLLOWERS = 20_000;

describe("fan-out of an author with 20,000 followers (Cassandra, Kafka)", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem({
      FEEDMESH_STORE: "cassandra",
      FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
      FEEDMESH_KAFKA_TOPIC_PREFIX: `fanout${process.pid}.`,
      FEEDMESH_CELEBRITY_THRESHOLD: String(FOLLOWERS * 10),
      FEEDMESH_SECRET: "a-fanout-test-secret-long-enough-0000",
    });
  });
  after(() => s.stop());

  it("writes every follower's feed", async () => {
    const author = await newUser(s.grpc, "author");
    // Followers seeded straight into the graph's tables (20,000 sign-ups would test sign-up).
    const db = s.app.runtime.store.db as CassandraDb;
    const gen = new IdGenerator(77);
    const followers = Array.from({ length: FOLLOWERS }, () => gen.next());
    const t0 = Date.now();
    await db.concurrent(
      "INSERT INTO graph_incoming (followee_id, state, create_time, follower_id) VALUES (?, 2, ?, ?)",
      followers.map((f, i) => [BigInt(author.id), new Date(t0 - i), BigInt(f)]),
    );
    await db.execute("UPDATE graph_counts SET followers = followers + ? WHERE user_id = ?", [BigInt(FOLLOWERS), BigInt(author.id)]);
    const started = Date.now();
    const post = (await s.grpc.post.createPost({ caption: "to twenty thousand" }, author.opts)).post!;
    const store = await openFeedStore(s.app.runtime);
    // Followers are paged newest edge first: the last one written is the oldest edge.
    await eventually(async () => {
      const page = await store.page(followers.at(-1)!, 5, null);
      assert.deepEqual(
        page.map((e) => e.postId),
        [post.postId],
      );
    }, 240_000);
    const seconds = (Date.now() - started) / 1000;
    for (const f of [followers[0]!, followers[FOLLOWERS / 2]!, ...followers.slice(-3)]) {
      assert.deepEqual(
        (await store.page(f, 5, null)).map((e) => e.postId),
        [post.postId],
        `follower ${f}`,
      );
    }
    console.log(`fan-out to ${FOLLOWERS} followers: ${seconds.toFixed(1)} s, ${Math.round(FOLLOWERS / seconds)} feeds/s`);
  });
});
