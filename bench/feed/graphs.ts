// The two graphs of `make bench`, as directed follow edges between dense user indexes 0..n-1:
//   reed98  the socfb-Reed98 friendships as DeathStarBench's socialNetwork loads them: each
//           undirected edge a follow both ways; 0-20 posts per user from a fixed seed
//   skewed  generated from a fixed seed: power-law follower counts (preferential choice of
//           followees by rank), a few accounts far above the celebrity threshold, a few readers
//           following 1,000+ accounts
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { rng } from "./rand.js";

export interface Graph {
  name: string;
  users: number;
  /** Directed follows: follower[i] follows followee[i]. */
  follower: Int32Array;
  followee: Int32Array;
  /** Posts to create per user. */
  posts: Uint8Array;
}

/** Where socfb-Reed98/ lives: BENCH_DATASETS, else ../shared/datasets beside the repository. */
export const DATASETS = process.env.BENCH_DATASETS ?? path.resolve(import.meta.dirname, "../../../shared/datasets");

export function hasReed98(dir: string): boolean {
  return existsSync(path.join(dir, "socfb-Reed98", "socfb-Reed98.edges"));
}

/** Reed98 (or its first `limit` users, for the smoke run), each edge a follow both ways. */
export function reed98(dir: string, seed: number, limit = Number.POSITIVE_INFINITY, maxPosts = 20): Graph {
  const file = path.join(dir, "socfb-Reed98", "socfb-Reed98.edges");
  const pairs: number[] = [];
  let users = 0;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)/.exec(line);
    if (!m) continue;
    const [a, b] = [Number(m[1]), Number(m[2])];
    if (a >= limit || b >= limit || a === b) continue;
    pairs.push(a, b, b, a);
    users = Math.max(users, a + 1, b + 1);
  }
  const follower = new Int32Array(pairs.length / 2);
  const followee = new Int32Array(pairs.length / 2);
  for (let i = 0; i < follower.length; i++) [follower[i], followee[i]] = [pairs[2 * i]!, pairs[2 * i + 1]!];
  const r = rng(seed);
  const posts = Uint8Array.from({ length: users }, () => Math.floor(r() * (maxPosts + 1)));
  return { name: "reed98", users, follower, followee, posts };
}

export interface SkewOptions {
  users: number;
  seed: number;
  /** Mean out-degree of ordinary users (lognormal). */
  meanFollowing: number;
  /** How many users follow `heavyFollowing` accounts or more. */
  heavyUsers: number;
  heavyFollowing: number;
  /** Followee choice weight (rank + offset)^-alpha: a power law with a flattened head. */
  alpha: number;
  offset: number;
  /** Posts per user: uniform 0..maxPosts; the `celebrities` most-followed accounts get `celebrityPosts`. */
  maxPosts: number;
  celebrityPosts: number;
  celebrities: number;
}

export const SKEW_DEFAULTS: SkewOptions = {
  users: 20_000,
  seed: 20261123,
  meanFollowing: 14,
  heavyUsers: 20,
  heavyFollowing: 1000,
  alpha: 1.0,
  offset: 4,
  maxPosts: 1,
  celebrityPosts: 10,
  celebrities: 120,
};

/** The skewed graph: user 0 is the most followed (rank order = index order). */
export function skewed(o: SkewOptions): Graph {
  const r = rng(o.seed);
  const n = o.users;
  // Cumulative weights for followee choice by rank.
  const cum = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += (i + o.offset) ** -o.alpha;
    cum[i] = sum;
  }
  const pick = () => {
    const x = r() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const sigma = 1.0;
  const mu = Math.log(o.meanFollowing) - sigma ** 2 / 2;
  const follower: number[] = [];
  const followee: number[] = [];
  // The heavy readers are spread over the ranks (not the celebrities themselves).
  const heavy = new Set<number>();
  while (heavy.size < Math.min(o.heavyUsers, n / 2)) heavy.add(o.celebrities + Math.floor(r() * (n - o.celebrities)));
  for (let u = 0; u < n; u++) {
    const want = heavy.has(u)
      ? o.heavyFollowing + Math.floor(r() * o.heavyFollowing * 0.5)
      : Math.max(1, Math.min(500, Math.round(Math.exp(mu + sigma * gauss()))));
    const chosen = new Set<number>();
    for (let tries = 0; chosen.size < Math.min(want, n - 1) && tries < want * 20; tries++) {
      const v = pick();
      if (v !== u) chosen.add(v);
    }
    for (const v of chosen) {
      follower.push(u);
      followee.push(v);
    }
  }
  const posts = Uint8Array.from({ length: n }, (_, u) => (u < o.celebrities ? o.celebrityPosts : Math.floor(r() * (o.maxPosts + 1))));
  return { name: "skewed", users: n, follower: Int32Array.from(follower), followee: Int32Array.from(followee), posts };
}

export interface GraphStats {
  users: number;
  follows: number;
  posts: number;
  maxFollowers: number;
  medianFollowers: number;
  maxFollowing: number;
  following1000: number;
  /** Accounts with at least the threshold's followers, and the largest multiple of it. */
  celebrities: number;
  topOverThreshold: number;
}

export function followerCounts(g: Graph): Int32Array {
  const c = new Int32Array(g.users);
  for (const v of g.followee) c[v]!++;
  return c;
}

export function followingCounts(g: Graph): Int32Array {
  const c = new Int32Array(g.users);
  for (const u of g.follower) c[u]!++;
  return c;
}

export function stats(g: Graph, threshold: number): GraphStats {
  const fol = followerCounts(g);
  const ing = followingCounts(g);
  const sorted = Int32Array.from(fol).sort();
  const maxFollowers = sorted.at(-1) ?? 0;
  return {
    users: g.users,
    follows: g.follower.length,
    posts: g.posts.reduce((a, b) => a + b, 0),
    maxFollowers,
    medianFollowers: sorted[sorted.length >> 1] ?? 0,
    maxFollowing: ing.reduce((a, b) => Math.max(a, b), 0),
    following1000: ing.filter((c) => c >= 1000).length,
    celebrities: fol.filter((c) => c >= threshold).length,
    topOverThreshold: maxFollowers / threshold,
  };
}

/**
 * The graphs of a run (smoke: tiny ones); the skewed one gets extra readers (its last users) that
 * follow exactly k celebrities and 20 ordinary accounts, for the celebrity curve.
 */
export function benchGraphs(
  smoke: boolean,
  THRESHOLD: number,
  SEED: number,
): { reed: Graph; skew: Graph; curveReaders: Map<number, number[]> } {
  const CURVE_KS = smoke ? [0, 1, 3] : [0, 1, 3, 10, 30, 100];
  const CURVE_READERS = smoke ? 2 : 8;
  if (!hasReed98(DATASETS) && !smoke)
    throw new Error(`socfb-Reed98 not found under ${DATASETS} (set BENCH_DATASETS to the directory holding socfb-Reed98/)`);
  if (!hasReed98(DATASETS))
    process.stderr.write(`bench: socfb-Reed98 not found under ${DATASETS}: the smoke run uses a small generated graph in its place\n`);
  const reed = !hasReed98(DATASETS)
    ? {
        ...skewed({ ...SKEW_DEFAULTS, users: 40, seed: SEED + 2, heavyUsers: 0, meanFollowing: 3, celebrities: 0, maxPosts: 3 }),
        name: "reed98",
      }
    : smoke
      ? reed98(DATASETS, SEED, 40, 3)
      : reed98(DATASETS, SEED, Number(process.env.BENCH_REED_USERS ?? Number.POSITIVE_INFINITY));
  const base = skewed(
    smoke
      ? {
          ...SKEW_DEFAULTS,
          users: 400,
          heavyUsers: 2,
          heavyFollowing: 100,
          meanFollowing: 6,
          celebrities: 5,
          celebrityPosts: 3,
          maxPosts: 1,
        }
      : {
          ...SKEW_DEFAULTS,
          users: Number(process.env.BENCH_SKEW_USERS ?? 20_000),
          meanFollowing: 16,
          alpha: 1.05,
          offset: 3,
          celebrities: 110,
        },
  );
  const fol = new Int32Array(base.users);
  for (const v of base.followee) fol[v]!++;
  const celebs = [...fol.keys()].filter((u) => fol[u]! >= THRESHOLD);
  const regular = [...fol.keys()].filter((u) => fol[u]! < THRESHOLD && fol[u]! > 0);
  const a = [...base.follower];
  const b = [...base.followee];
  const curveReaders = new Map<number, number[]>();
  let next = base.users;
  const pick = rng(SEED + 1);
  for (const k of CURVE_KS) {
    const readers: number[] = [];
    for (let i = 0; i < CURVE_READERS; i++, next++) {
      readers.push(next);
      for (let j = 0; j < Math.min(k, celebs.length); j++) {
        a.push(next);
        b.push(celebs[(j + i * 7) % celebs.length]!);
      }
      for (let j = 0; j < 20; j++) {
        a.push(next);
        b.push(regular[Math.floor(pick() * regular.length)]!);
      }
    }
    curveReaders.set(k, readers);
  }
  const posts = new Uint8Array(next);
  posts.set(base.posts);
  return { reed, skew: { ...base, users: next, follower: Int32Array.from(a), followee: Int32Array.from(b), posts }, curveReaders };
}
