// The read model in process memory, for the embedded mode and fast tests: the same contract as
// readmodel.redis.ts (test/readmodel.suite.ts), the page merge written over the FeedCache port.
// Maps are bounded (oldest written first out) and entries expire like Redis keys.
import { compareIds } from "../platform/ids.js";
import type { FeedCache } from "./cache.js";
import {
  type CelebrityStamp,
  type Counts,
  type FeedEntry,
  likeKnownAbsent,
  type ModelItem,
  type ModelPage,
  type ReadModel,
  type ReadModelOptions,
} from "./readmodel.js";

const MAX_KEYS = 200_000;

/** A Map whose entries expire and whose size is bounded (the oldest written go first). */
class Expiring<V> {
  private readonly map = new Map<string, { v: V; until: number }>();
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (e && e.until <= Date.now()) this.map.delete(k);
    return e && e.until > Date.now() ? e.v : undefined;
  }
  set(k: string, v: V, ttlSeconds: number): void {
    this.map.delete(k);
    this.map.set(k, { v, until: Date.now() + ttlSeconds * 1000 });
    if (this.map.size > MAX_KEYS) this.map.delete(this.map.keys().next().value!);
  }
  delete(k: string): void {
    this.map.delete(k);
  }
}

/** One source of a page's merge (the reader's feed, a celebrity's timeline), read in batches. */
class Source {
  private buf: FeedEntry[] = [];
  private done = false;
  /** The cached part is used up and the store may hold older entries. */
  deep = false;
  constructor(
    private readonly cache: FeedCache,
    private readonly key: string,
    private cursor: string | null,
    private readonly batch: number,
  ) {}
  async peek(): Promise<FeedEntry | undefined> {
    if (this.buf.length === 0 && !this.done) {
      const page = await this.cache.page(this.key, this.batch, this.cursor);
      this.buf = page?.entries ?? [];
      if (this.buf.length === 0) {
        this.done = true;
        this.deep = !page?.complete;
      } else this.cursor = this.buf.at(-1)!.postId;
    }
    return this.buf[0];
  }
  take(): void {
    this.buf.shift();
  }
}

export class MemoryReadModel implements ReadModel {
  private readonly posts = new Expiring<Uint8Array>();
  private readonly users = new Expiring<Uint8Array>();
  private readonly counts = new Expiring<Counts>();
  private readonly liked = new Expiring<{ since: number; states: Map<string, boolean> }>();
  private readonly gone = new Expiring<Set<string>>();
  private readonly celebrities = new Map<string, { version: number; epoch?: number; list?: string[] }>();
  private epoch = 0;

  constructor(
    private readonly feeds: FeedCache,
    private readonly timelines: FeedCache,
    private readonly options: ReadModelOptions,
  ) {}

  async close(): Promise<void> {}

  async page(readerId: string, limit: number, before: string | null): Promise<ModelPage> {
    if (!(await this.feeds.isCached(readerId))) return { hit: false, miss: "feed", authors: [] };
    const cel = this.celebrities.get(readerId);
    if (!cel?.list || cel.epoch !== this.epoch) return { hit: false, miss: "celebrities", authors: [] };
    const missing: string[] = [];
    for (const c of cel.list) if (!(await this.timelines.isCached(c))) missing.push(c);
    if (missing.length > 0) return { hit: false, miss: "timelines", authors: missing };
    const gone = this.gone.get(readerId) ?? new Set<string>();
    const sources = [
      new Source(this.feeds, readerId, before, limit + 1),
      ...cel.list.map((c) => new Source(this.timelines, c, before, limit + 1)),
    ];
    const want = limit + 1;
    const picked: { e: FeedEntry; post: Uint8Array | null }[] = [];
    const seen = new Set<string>();
    let deep = false;
    while (picked.length < want) {
      let best: Source | undefined;
      let top: FeedEntry | undefined;
      for (const s of sources) {
        const e = await s.peek();
        if (e === undefined) deep ||= s.deep;
        else if (!top || compareIds(e.postId, top.postId) > 0) [best, top] = [s, e];
      }
      if (deep || !best || !top) break;
      best.take();
      if (seen.has(top.postId) || (top.authorId !== readerId && gone.has(top.authorId))) continue;
      seen.add(top.postId);
      const post = this.posts.get(top.postId);
      if (post?.length === 0) continue; // a tombstone: deleted
      picked.push({ e: top, post: post ?? null });
    }
    if (deep && picked.length < want) return { hit: false, miss: "deep", authors: [] };
    const more = picked.length > limit;
    const likes = this.liked.get(readerId);
    const items: ModelItem[] = picked.slice(0, limit).map(({ e, post }) => {
      const known = likes?.states.get(e.postId);
      return {
        postId: e.postId,
        authorId: e.authorId,
        post,
        user: this.users.get(e.authorId) ?? null,
        counts: this.counts.get(e.postId) ?? null,
        liked: known ?? (likeKnownAbsent(likes?.since ?? null, e.postId) ? false : null),
      };
    });
    await this.feeds.touch(readerId);
    if (this.gone.get(readerId)) this.gone.set(readerId, gone, this.options.feedTtlSeconds);
    return { hit: true, items, next: more ? items.at(-1)!.postId : null };
  }

  async putPosts(posts: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void> {
    for (const p of posts) {
      const had = this.posts.get(p.id);
      if (had?.length === 0 || (had && !overwrite)) continue;
      this.posts.set(p.id, p.bytes, this.options.ttlSeconds);
    }
  }

  async deletePost(postId: string): Promise<void> {
    this.posts.set(postId, new Uint8Array(0), this.options.ttlSeconds);
  }

  async forgetPost(postId: string): Promise<void> {
    if (this.posts.get(postId)?.length !== 0) this.posts.delete(postId);
  }

  async putUsers(users: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void> {
    for (const u of users) if (overwrite || !this.users.get(u.id)) this.users.set(u.id, u.bytes, this.options.ttlSeconds);
  }

  async dropUser(userId: string): Promise<void> {
    this.users.delete(userId);
  }

  async putCounts(counts: { postId: string; counts: Counts }[], overwrite: boolean): Promise<void> {
    for (const c of counts) {
      if (overwrite || !this.counts.get(c.postId)) this.counts.set(c.postId, { ...c.counts }, this.options.countsTtlSeconds);
    }
  }

  async forgetCounts(postId: string): Promise<void> {
    this.counts.delete(postId);
  }

  async putLiked(readerId: string, states: { postId: string; liked: boolean }[], create: boolean): Promise<void> {
    let set = this.liked.get(readerId);
    if (!set) {
      if (!create) return;
      set = { since: Date.now(), states: new Map() };
    }
    for (const s of states) set.states.set(s.postId, s.liked);
    this.liked.set(readerId, set, this.options.ttlSeconds);
  }

  async hideAuthor(readerId: string, authorId: string): Promise<void> {
    const set = this.gone.get(readerId) ?? new Set<string>();
    set.add(authorId);
    this.gone.set(readerId, set, this.options.feedTtlSeconds);
  }

  async unhideAuthor(readerId: string, authorId: string): Promise<void> {
    this.gone.get(readerId)?.delete(authorId);
  }

  async celebritiesChanged(readerId: string): Promise<void> {
    this.celebrities.set(readerId, { version: (this.celebrities.get(readerId)?.version ?? 0) + 1 });
  }

  async celebrityStatesChanged(): Promise<void> {
    this.epoch++;
  }

  async celebrityStamp(readerId: string): Promise<CelebrityStamp> {
    return { version: String(this.celebrities.get(readerId)?.version ?? 0), epoch: String(this.epoch) };
  }

  async setCelebrities(readerId: string, authorIds: string[], stamp: CelebrityStamp): Promise<void> {
    const version = this.celebrities.get(readerId)?.version ?? 0;
    if (String(version) !== stamp.version) return;
    this.celebrities.set(readerId, { version, epoch: Number(stamp.epoch), list: [...authorIds] });
  }

  timelineAdd(entry: FeedEntry): Promise<void> {
    return this.timelines.add([entry.authorId], entry, this.options.timelineCap);
  }

  timelineRemove(entry: FeedEntry): Promise<void> {
    return this.timelines.remove([entry.authorId], entry.postId);
  }

  timelineFill(authorId: string, entries: FeedEntry[]): Promise<void> {
    return this.timelines.fill(authorId, entries, this.options.timelineCap);
  }
}
