// The read model's page, written over ports: the reader's feed and the followed celebrities'
// timelines (FeedCache) merged newest first below the cursor, hidden authors and tombstoned posts
// left out, then the page's parts looked up. The in-process adapter (readmodel.memory.ts) and the
// Redis Cluster variant (readmodel.cluster.ts, every command on one key) page with it;
// readmodel.redis.ts does the same inside one Lua script. Round trips when each port call is one:
// the feed with the reader's state, the timelines (only with celebrities), the bodies, the rest.
import { compareIds } from "../platform/ids.js";
import type { FeedCache } from "./cache.js";
import { type Counts, type FeedEntry, likeKnownAbsent, type ModelItem, type ModelPage } from "./readmodel.js";

export interface ReaderState {
  /** The reader's followed celebrities; null when not cached or older than the last promotion or demotion. */
  celebrities: string[] | null;
  /** Authors the reader stopped following (hidden from now on). */
  gone: Set<string>;
}

export interface Hydration {
  users: (Uint8Array | null)[];
  counts: (Counts | null)[];
  /** The reader's like state of each post, undefined when not known. */
  liked: (boolean | undefined)[];
  /** When the reader's like set was created (ms), or null when there is none. */
  likedSince: number | null;
}

export interface PageParts {
  feeds: Pick<FeedCache, "page">;
  timelines: Pick<FeedCache, "page">;
  state(readerId: string): Promise<ReaderState>;
  /** Post bodies: the bytes, an empty array for a tombstone (deleted), null when not cached. */
  bodies(postIds: string[]): Promise<(Uint8Array | null)[]>;
  /** The page's profiles, counts and like states; refreshes the idle expiry of the reader's feed. */
  hydrate(readerId: string, entries: FeedEntry[]): Promise<Hydration>;
}

/** One source of the merge (the reader's feed, a celebrity's timeline), read in batches. */
class Source {
  private buf: FeedEntry[] = [];
  private done = false;
  /** Not cached at all. */
  uncached = false;
  /** The cached part is used up and the store may hold older entries. */
  deep = false;
  constructor(
    private readonly cache: Pick<FeedCache, "page">,
    private readonly key: string,
    private cursor: string | null,
    private readonly batch: number,
  ) {}
  /** The next entry without a round trip, when the current batch has one (or the source is done). */
  get buffered(): boolean {
    return this.buf.length > 0 || this.done;
  }
  async peek(): Promise<FeedEntry | undefined> {
    if (this.buf.length === 0 && !this.done) {
      const page = await this.cache.page(this.key, this.batch, this.cursor);
      this.uncached = page === null;
      this.buf = page?.entries ?? [];
      if (this.buf.length === 0) {
        this.done = true;
        this.deep = !page?.complete;
      } else this.cursor = this.buf.at(-1)!.postId;
    }
    return this.buf[0];
  }
  get head(): FeedEntry | undefined {
    return this.buf[0];
  }
  take(): void {
    this.buf.shift();
  }
}

/** One page of the reader's home feed below the cursor, as ReadModel.page. */
export async function mergedPage(parts: PageParts, readerId: string, limit: number, before: string | null): Promise<ModelPage> {
  const want = limit + 1;
  const feed = new Source(parts.feeds, readerId, before, want);
  const [, state] = await Promise.all([feed.peek(), parts.state(readerId)]);
  if (feed.uncached) return { hit: false, miss: "feed", authors: [] };
  if (state.celebrities === null) return { hit: false, miss: "celebrities", authors: [] };
  const timelines = state.celebrities.map((c) => new Source(parts.timelines, c, before, want));
  await Promise.all(timelines.map((s) => s.peek()));
  const missing = state.celebrities.filter((_, i) => timelines[i]!.uncached);
  if (missing.length > 0) return { hit: false, miss: "timelines", authors: missing };

  const sources = [feed, ...timelines];
  const picked: { e: FeedEntry; post: Uint8Array | null }[] = [];
  const seen = new Set<string>();
  let deep = false;
  let ended = false;
  while (picked.length < want && !ended && !deep) {
    // The next candidates from the merge, then their bodies in one lookup (tombstones drop out).
    const cand: FeedEntry[] = [];
    while (picked.length + cand.length < want) {
      let best: Source | undefined;
      let top: FeedEntry | undefined;
      for (const s of sources) {
        const e = s.buffered ? s.head : await s.peek();
        if (e === undefined) deep ||= s.deep;
        else if (!top || compareIds(e.postId, top.postId) > 0) [best, top] = [s, e];
      }
      if (deep) break;
      if (!best || !top) {
        ended = true;
        break;
      }
      best.take();
      if (seen.has(top.postId) || (top.authorId !== readerId && state.gone.has(top.authorId))) continue;
      seen.add(top.postId);
      cand.push(top);
    }
    if (cand.length === 0) continue;
    const bodies = await parts.bodies(cand.map((e) => e.postId));
    cand.forEach((e, i) => {
      if (bodies[i]?.length !== 0) picked.push({ e, post: bodies[i] ?? null });
    });
  }
  if (deep && picked.length < want) return { hit: false, miss: "deep", authors: [] };
  const page = picked.slice(0, limit);
  const h = await parts.hydrate(
    readerId,
    page.map((p) => p.e),
  );
  const items: ModelItem[] = page.map(({ e, post }, i) => ({
    postId: e.postId,
    authorId: e.authorId,
    post,
    user: h.users[i] ?? null,
    counts: h.counts[i] ?? null,
    liked: h.liked[i] ?? (likeKnownAbsent(h.likedSince, e.postId) ? false : null),
  }));
  return { hit: true, items, next: picked.length > limit ? items.at(-1)!.postId : null };
}
