// Seeded randomness for bench/feed: the same seed gives the same graphs, posts and workloads.

/** A small, fast, seedable PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = "harbour light morning coffee street river garden mountain city night sunset market friends summer autumn".split(" ");

/** A short caption with a hashtag. */
export function caption(r: () => number): string {
  const n = 4 + Math.floor(r() * 8);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
  return `${words.join(" ")} #${WORDS[Math.floor(r() * WORDS.length)]}`;
}
