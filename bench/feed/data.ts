// Loading the graphs into the running system. Users, follows and the celebrity index go into
// the stores' tables in bulk (unlogged single-partition batches with cassandra-driver): through
// the API a follow is a lightweight transaction, a logged batch, two counter updates and an
// event, and 380,000 of them would take most of the half hour. Posts go through CreatePost over
// gRPC, so the outbox, Kafka and the fanout do their real work. Users get access tokens minted
// with the identity service's own signing key (no scrypt login per user).
import { randomUUID } from "node:crypto";
import cassandra from "cassandra-driver";
import { importJWK, SignJWT } from "jose";
import { CELEBRITY, FOLLOWING } from "../../services/graph/store.js";
import { USER_AUDIENCE } from "../../services/platform/auth.js";
import { IdGenerator, idTime } from "../../services/platform/ids.js";
import { followerCounts, followingCounts, type Graph } from "./graphs.js";
import { progress } from "./proc.js";

export interface Loaded {
  graph: Graph;
  /** feedmesh user id of each dense index. */
  ids: string[];
  tokens: string[];
  celebrities: Set<number>;
  /** Every post created: author index and post id (filled by createPosts). */
  posts: { author: number; postId: string; createTime: number; caption: string }[];
}

export function cassandraClient(contactPoints: string, keyspace: string): cassandra.Client {
  return new cassandra.Client({
    contactPoints: contactPoints.split(",").map((s) => s.trim()),
    localDataCenter: process.env.FEEDMESH_CASSANDRA_LOCAL_DC ?? "datacenter1",
    keyspace,
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    socketOptions: { readTimeout: 30_000 },
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
  });
}

type Query = { query: string; params: unknown[] };

/** Runs single-partition unlogged batches, `inFlight` at a time, with progress. */
export async function runBatches(client: cassandra.Client, jobs: Query[][], what: string, inFlight = 32): Promise<void> {
  const p = progress(
    what,
    jobs.reduce((n, j) => n + j.length, 0),
    "rows",
  );
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      if (job.length === 1) await client.execute(job[0]!.query, job[0]!.params, { prepare: true });
      else await client.batch(job, { prepare: true, logged: false });
      p.add(job.length);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  p.done();
}

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Users, follows (graph_edges, graph_outgoing, graph_incoming, graph_counts) and, for accounts
 * with at least `threshold` followers, the celebrity state and the followers' celebrity index,
 * as the graph service would have them after promoting those accounts.
 */
export async function loadGraph(
  client: cassandra.Client,
  g: Graph,
  threshold: number,
  prefix: string,
): Promise<Omit<Loaded, "tokens" | "posts">> {
  const base = Date.now() - 86_400_000; // the follows happened yesterday
  const gen = new IdGenerator(1000);
  const ids = Array.from({ length: g.users }, () => gen.next(base - 3_600_000));
  const fol = followerCounts(g);
  const ing = followingCounts(g);
  const celebrities = new Set<number>();
  for (let u = 0; u < g.users; u++) if (fol[u]! >= threshold) celebrities.add(u);

  const users: Query[][] = chunked(
    ids.map((id, u) => ({
      query:
        "INSERT INTO identity_users (user_id, username, email, display_name, bio, avatar_media_id, private, password_hash, create_time) VALUES (?, ?, ?, ?, '', '', false, '!', ?)",
      params: [BigInt(id), `${prefix}${u}`, `${prefix}${u}@bench.invalid`, `${g.name} user ${u}`, new Date(base - 3_600_000)],
    })),
    1,
  );
  await runBatches(client, users, `${g.name}: users`);

  const byFollower = new Map<number, number[]>();
  const byFollowee = new Map<number, number[]>();
  for (let i = 0; i < g.follower.length; i++) {
    const [a, b] = [g.follower[i]!, g.followee[i]!];
    (byFollower.get(a) ?? byFollower.set(a, []).get(a)!).push(i);
    (byFollowee.get(b) ?? byFollowee.set(b, []).get(b)!).push(i);
  }
  const t = (i: number) => new Date(base + i); // distinct, time-ordered follow times
  const out: Query[][] = [];
  for (const [a, edges] of byFollower) {
    const rows: Query[] = [];
    for (const i of edges) {
      const b = g.followee[i]!;
      const [fa, fb] = [BigInt(ids[a]!), BigInt(ids[b]!)];
      rows.push({
        query: "INSERT INTO graph_edges (follower_id, followee_id, state, create_time) VALUES (?, ?, ?, ?)",
        params: [fa, fb, FOLLOWING, t(i)],
      });
      rows.push({ query: "INSERT INTO graph_outgoing (follower_id, create_time, followee_id) VALUES (?, ?, ?)", params: [fa, t(i), fb] });
      if (celebrities.has(b))
        rows.push({
          query: "INSERT INTO graph_following_celebrities (follower_id, create_time, followee_id) VALUES (?, ?, ?)",
          params: [fa, t(i), fb],
        });
    }
    out.push(...chunked(rows, 100));
  }
  await runBatches(client, out, `${g.name}: follows by follower`);
  const inc: Query[][] = [];
  for (const [b, edges] of byFollowee) {
    const fb = BigInt(ids[b]!);
    const rows = edges.map((i) => ({
      query: "INSERT INTO graph_incoming (followee_id, state, create_time, follower_id) VALUES (?, ?, ?, ?)",
      params: [fb, FOLLOWING, t(i), BigInt(ids[g.follower[i]!]!)],
    }));
    inc.push(...chunked(rows, 100));
  }
  await runBatches(client, inc, `${g.name}: follows by followee`);
  const counts: Query[][] = [];
  for (let u = 0; u < g.users; u++) {
    if (fol[u]! === 0 && ing[u]! === 0) continue;
    counts.push([
      {
        query: "UPDATE graph_counts SET followers = followers + ?, following = following + ? WHERE user_id = ?",
        params: [BigInt(fol[u]!), BigInt(ing[u]!), BigInt(ids[u]!)],
      },
    ]);
  }
  await runBatches(client, counts, `${g.name}: follow counts`);
  const celeb: Query[][] = [...celebrities].map((u) => [
    {
      query: "INSERT INTO graph_celebrities (user_id, state, since, announced) VALUES (?, ?, ?, true)",
      params: [BigInt(ids[u]!), CELEBRITY, new Date(base)],
    },
  ]);
  if (celeb.length > 0) await runBatches(client, celeb, `${g.name}: celebrities`);
  return { graph: g, ids, celebrities };
}

/** Access tokens signed with the identity service's key (read from its table), valid for hours. */
export async function mintTokens(client: cassandra.Client, issuer: string, userIds: string[]): Promise<string[]> {
  const row = (await client.execute("SELECT kid, private_jwk FROM identity_signing_keys LIMIT 1")).first();
  if (!row) throw new Error("the identity service has no signing key yet (call GetJwks first)");
  const key = await importJWK(JSON.parse(row.private_jwk), "ES256");
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (const sub of userIds) {
    out.push(
      await new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: row.kid, typ: "JWT" })
        .setIssuer(issuer)
        .setAudience(USER_AUDIENCE)
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 4 * 3600)
        .setJti(randomUUID())
        .sign(key),
    );
  }
  return out;
}

/** The fan-out entries the posts of these authors cause (followers of non-celebrities, plus the author). */
export function expectedEntries(l: Omit<Loaded, "tokens" | "posts">, authors: number[]): number {
  const fol = followerCounts(l.graph);
  return authors.reduce((n, a) => n + 1 + (l.celebrities.has(a) ? 0 : fol[a]!), 0);
}

export { idTime };
