// Post-to-feed visibility under load: from CreatePost's response until the post is in a
// follower's first page, for ordinary authors (about the median follower count), the largest
// authors that are still fanned out, and celebrities (pulled at read time).
import { randomUUID } from "node:crypto";
import type cassandra from "cassandra-driver";
import { monthOfId } from "../../services/platform/buckets.js";
import { percentile } from "../rpc/stats.js";
import type { Loaded } from "./data.js";
import { say, sleep } from "./proc.js";
import type { Sut } from "./system.js";

export interface Visibility {
  kind: string;
  samples: number;
  /** Until the post was in a page GetHomeFeed returned. */
  p50: number;
  p99: number;
  max: number;
  timeouts: number;
  /** Until the fan-out had written it to the follower's stored feed (NaN for pulled posts). */
  storeP50: number;
  storeP99: number;
}

/**
 * Post-to-feed visibility: an author posts; from CreatePost's response, one follower's first
 * page is polled every `pollMs` until the post is in it, and (beside it) the follower's stored
 * feed every 25 ms, which separates the fan-out pipeline (outbox relay, Kafka, fanout) from the
 * read. Probes run `parallel` at a time until `seconds` are up.
 */
export async function probeVisibility(
  sut: Sut,
  kind: string,
  cql: cassandra.Client,
  pairs: { author: string; authorToken: string; reader: string; readerToken: string }[],
  seconds: number,
  parallel: number,
  pulled: boolean,
  pollMs = 50,
): Promise<Visibility> {
  const times: number[] = [];
  const stored: number[] = [];
  let timeouts = 0;
  const end = performance.now() + seconds * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < end) {
        const pair = pairs[i++ % pairs.length]!;
        const res = await sut.post.createPost(
          { caption: `visibility probe ${i}`, requestId: randomUUID() },
          { headers: { authorization: `Bearer ${pair.authorToken}` } },
        );
        const t0 = performance.now();
        const id = res.post!.postId;
        let done = false;
        const inStore = pulled
          ? Promise.resolve()
          : (async () => {
              const params = [BigInt(pair.reader), monthOfId(id), BigInt(id)];
              while (!done) {
                const r = await cql.execute("SELECT post_id FROM feed_entries WHERE reader_id = ? AND month = ? AND post_id = ?", params, {
                  prepare: true,
                });
                if (r.rowLength > 0) {
                  stored.push(performance.now() - t0);
                  return;
                }
                await sleep(25);
              }
            })();
        for (;;) {
          const page = await sut.feed.getHomeFeed({ pageSize: 10 }, { headers: { authorization: `Bearer ${pair.readerToken}` } });
          if (page.items.some((it) => it.post?.postId === id)) {
            times.push(performance.now() - t0);
            break;
          }
          if (performance.now() - t0 > 30_000) {
            timeouts++;
            break;
          }
          await sleep(pollMs);
        }
        done = true;
        await inStore;
      }
    }),
  );
  const sorted = Float64Array.from(times).sort();
  const sortedStore = Float64Array.from(stored).sort();
  const v = {
    storeP50: percentile(sortedStore, 50),
    storeP99: percentile(sortedStore, 99),
    kind,
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    timeouts,
  };
  say(
    `visibility ${kind}: ${v.samples} probes, p50 ${v.p50.toFixed(0)} ms, p99 ${v.p99.toFixed(0)} ms, max ${v.max.toFixed(0)} ms, ${timeouts} timeouts` +
      (pulled ? " (pulled at read time)" : `; in the stored feed: p50 ${v.storeP50.toFixed(0)} ms, p99 ${v.storeP99.toFixed(0)} ms`),
  );
  return v;
}

/** The probes of one graph, within about 1.8 × `step` seconds. */
export async function visibilityProbes(
  sut: Sut,
  cql: cassandra.Client,
  l: Loaded,
  skip: Set<number>,
  step: number,
): Promise<(Visibility & { graph: string })[]> {
  const out: (Visibility & { graph: string })[] = [];
  const fol = new Int32Array(l.ids.length);
  for (const v of l.graph.followee) fol[v]!++;
  const followerOf = new Map<number, number>();
  for (let i = 0; i < l.graph.follower.length; i++) followerOf.set(l.graph.followee[i]!, l.graph.follower[i]!);
  const pairsFor = (authors: number[]) =>
    authors
      .filter((a) => followerOf.has(a))
      .map((a) => ({
        author: l.ids[a]!,
        authorToken: l.tokens[a]!,
        reader: l.ids[followerOf.get(a)!]!,
        readerToken: l.tokens[followerOf.get(a)!]!,
      }));
  const sorted = [...fol].sort((x, y) => x - y);
  const median = Math.max(1, sorted[sorted.length >> 1]!);
  const byFollowers = (xs: number[]) => xs.sort((x, y) => fol[y]! - fol[x]!);
  const candidates = [...fol.keys()].filter((u) => !l.celebrities.has(u) && !skip.has(u) && fol[u]! > 0);
  const ordinary = byFollowers(candidates.filter((u) => fol[u]! >= median && fol[u]! <= Math.max(2 * median, median + 5)).slice(0, 200));
  const large = byFollowers([...candidates]).slice(0, 50);
  const probe = async (kind: string, authors: number[], share: number, parallel: number, pulled = false) => {
    const pairs = pairsFor(authors);
    if (pairs.length === 0) return;
    const span = `${fol[authors.at(-1)!]}–${fol[authors[0]!]} followers`;
    out.push({
      graph: l.graph.name,
      ...(await probeVisibility(sut, `${l.graph.name} ${kind} (${span})`, cql, pairs, step * share, parallel, pulled)),
    });
  };
  // Few probes at once, polling gently: their reads are load too.
  await probe("ordinary authors", ordinary, 1.1, 2);
  await probe("largest non-celebrities", large, 0.4, 1);
  if (l.celebrities.size > 0) await probe("celebrities", byFollowers([...l.celebrities]), 0.3, 1, true);
  return out;
}
