// A crossing of an account with 100,000 followers on the embedded store: the jobs page through
// the followers 1000 at a time (memory stays bounded), and every follower's index row comes and
// goes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { decodeEvent, encodeEvent } from "../platform/events.js";
import { IdGenerator } from "../platform/ids.js";
import { createLogger } from "../platform/log.js";
import { EmbeddedDb } from "../platform/sqlite.js";
import { Crossings } from "./celebrities.js";
import { CELEBRITY, DEMOTING, FOLLOWING, type GraphStore, NOT_CELEBRITY } from "./store.js";
import { SqliteGraphStore } from "./store.sqlite.js";

const FOLLOWERS = 100_000;

describe("celebrity crossings", () => {
  it("indexes and unindexes 100,000 followers a page at a time", async () => {
    const db = new EmbeddedDb(null);
    const store = new SqliteGraphStore(db);
    const gen = new IdGenerator(5);
    const star = gen.next();
    const t0 = Date.now();
    db.tx(() => {
      for (let i = 0; i < FOLLOWERS; i++) {
        db.run(
          "INSERT INTO graph_edges (follower_id, followee_id, state, create_time) VALUES (?, ?, ?, ?)",
          BigInt(gen.next()),
          BigInt(star),
          FOLLOWING,
          t0 - i,
        );
      }
      db.run("INSERT INTO graph_counts (user_id, followers) VALUES (?, ?)", BigInt(star), FOLLOWERS);
    });
    const rows = () => Number(db.get("SELECT count(*) AS n FROM graph_following_celebrities WHERE followee_id = ?", BigInt(star))?.n);
    let largest = 0;
    let pages = 0;
    const counting = new Proxy(store, {
      get(target, prop) {
        if (prop === "indexFollowers")
          return (...args: Parameters<GraphStore["indexFollowers"]>) => {
            largest = Math.max(largest, args[2]);
            pages++;
            return target.indexFollowers(...args);
          };
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const crossings = new Crossings(counting, 50_000, createLogger("silent"));

    const before = process.memoryUsage().heapUsed;
    await crossings.evaluate(star);
    const grown = process.memoryUsage().heapUsed - before;
    const celebrity = await store.celebrity(star);
    assert.equal(celebrity.state, CELEBRITY);
    assert.equal(rows(), FOLLOWERS);
    assert.equal(pages, 100);
    assert.equal(largest, 1000);
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);

    db.run("UPDATE graph_counts SET followers = ? WHERE user_id = ?", 44_999, BigInt(star)); // below 45,000
    await crossings.evaluate(star);
    assert.equal((await store.celebrity(star)).state, DEMOTING);
    assert.equal(rows(), FOLLOWERS, "pulled until the fanout has pushed the posts");
    const e = encodeEvent("follows", star, {
      event: { case: "celebrityBackfilled", value: { userId: star, since: timestampFromMs(celebrity.since) } },
    });
    await crossings.onEvent({ topic: "follows", key: star, event: decodeEvent("follows", e.payload), headers: {} });
    assert.deepEqual(await store.celebrity(star), NOT_CELEBRITY);
    assert.equal(rows(), 0);
    assert.equal(pages, 200);
    assert.equal(largest, 1000);
  });
});
