// The cost curves: fan-out time against the author's follower count (on the real pipeline:
// CreatePost → outbox → Kafka → fanout → Cassandra and Redis), and home-feed latency against the
// number of celebrities the reader follows.
import type cassandra from "cassandra-driver";
import { FOLLOWING } from "../../services/graph/store.js";
import { monthOfId } from "../../services/platform/buckets.js";
import { IdGenerator } from "../../services/platform/ids.js";
import { percentile } from "../rpc/stats.js";
import { mintTokens, runBatches } from "./data.js";
import type { LoadResult } from "./load.js";
import { say } from "./proc.js";
import type { Sut } from "./system.js";

export interface FanoutPoint {
  followers: number;
  /** Median over the repetitions: CreatePost's response to the post in the last follower page's feeds. */
  seconds: number;
  entriesPerSecond: number;
  repetitions: number;
}

/**
 * For each size, an author with that many followers (bulk rows in the graph's follower list; the
 * followers are ids only, their feeds not cached) posts through CreatePost; the time runs from
 * the response until the post is in the stored feed of every follower of the fanout's last page
 * of followers (polled every 10 ms). The author is not a
 * celebrity (no promotion ran), so it is fanned out whatever its size.
 */
export async function fanoutCurve(
  sut: Sut,
  cql: cassandra.Client,
  sizes: number[],
  /** Profile the server during the largest size's fan-out into this file. */
  profileFile?: string,
): Promise<FanoutPoint[]> {
  const gen = new IdGenerator(1004);
  const out: FanoutPoint[] = [];
  for (const n of sizes) {
    const author = gen.next();
    await cql.execute(
      "INSERT INTO identity_users (user_id, username, email, display_name, bio, avatar_media_id, private, password_hash, create_time) VALUES (?, ?, ?, '', '', '', false, '!', ?)",
      [BigInt(author), `fan${n}_${author}`, `fan${n}_${author}@bench.invalid`, new Date()],
      { prepare: true },
    );
    const t = Date.now() - 3_600_000;
    const followers = Array.from({ length: n }, () => BigInt(gen.next()));
    const rows = followers.map((f, i) => ({
      query: "INSERT INTO graph_incoming (followee_id, state, create_time, follower_id) VALUES (?, ?, ?, ?)",
      params: [BigInt(author), FOLLOWING, new Date(t + i), f],
    }));
    // The fanout pages through the followers newest first, so the oldest ones are in its last page.
    const lastPage = followers.slice(0, Math.min(n, 50));
    const jobs = [];
    for (let i = 0; i < rows.length; i += 100) jobs.push(rows.slice(i, i + 100));
    await runBatches(cql, jobs, `fan-out curve: ${n.toLocaleString("en")} followers`);
    await cql.execute("UPDATE graph_counts SET followers = followers + ? WHERE user_id = ?", [BigInt(n), BigInt(author)], {
      prepare: true,
    });
    const [token] = await mintTokens(cql, "feedmesh", [author]);
    await sut.settle();
    const reps = n <= 1000 ? 3 : 1;
    const times: number[] = [];
    const once = async (r: number) => {
      const res = await sut.post.createPost(
        { caption: `fan-out of ${n}`, requestId: `${author}-${r}` },
        { headers: { authorization: `Bearer ${token}` } },
      );
      const t0 = performance.now();
      const postId = BigInt(res.post!.postId);
      const month = monthOfId(res.post!.postId);
      // Done when the post is in the feed (the store, the source of truth) of the last page's followers.
      for (;;) {
        const found = await cql.execute(
          "SELECT reader_id FROM feed_entries WHERE reader_id IN ? AND month = ? AND post_id = ?",
          [lastPage, month, postId],
          { prepare: true },
        );
        if (found.rowLength >= lastPage.length) break;
        if (performance.now() - t0 > 600_000) throw new Error(`fan-out to ${n} followers not done after 10 minutes`);
        await new Promise((r) => setTimeout(r, 10));
      }
      times.push((performance.now() - t0) / 1000);
      await sut.settle(); // quiet before the next post
    };
    for (let r = 0; r < reps; r++) {
      if (profileFile && n === Math.max(...sizes) && r === reps - 1) await sut.profile(profileFile, () => once(r));
      else await once(r);
    }
    const seconds = percentile(Float64Array.from(times).sort(), 50);
    out.push({ followers: n, seconds, entriesPerSecond: (n + 1) / seconds, repetitions: reps });
    say(
      `fan-out of one post to ${n.toLocaleString("en")} followers: ${(seconds * 1000).toFixed(0)} ms (median of ${reps}) = ${Math.round((n + 1) / seconds)} entries/s`,
    );
  }
  return out;
}

export interface CelebrityPoint {
  k: number;
  rps: number;
  p50: number;
  p99: number;
  /** The server's CPU per read (µs, net of its idle background). */
  serverCpuUsPerCall: number;
}

export async function celebrityCurve(
  readers: Map<number, number[]>,
  run: (actors: number[], concurrency: number, label: string) => Promise<LoadResult & { serverCpuUsPerCall: number }>,
): Promise<CelebrityPoint[]> {
  const out: CelebrityPoint[] = [];
  for (const [k, actors] of readers) {
    const r = await run(actors, 4, `home feed of readers following ${k} celebrities, c=4`);
    const h = r.ops.home!;
    out.push({ k, rps: h.rps, p50: h.p50, p99: h.p99, serverCpuUsPerCall: r.serverCpuUsPerCall });
  }
  return out;
}
