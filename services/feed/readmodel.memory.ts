// The read model in process memory, for the embedded mode and fast tests: the same contract as
// readmodel.redis.ts (test/contracts/readmodel.contract.ts), the page merged by readmodel.merge.ts
// over the FeedCache port.
// Maps are bounded (oldest written first out) and entries expire like Redis keys.
import type { FeedCache } from "./cache.js";
import type { CelebrityStamp, Counts, FeedEntry, ModelPage, ReadModel, ReadModelOptions } from "./readmodel.js";
import { mergedPage, type PageParts } from "./readmodel.merge.js";

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

export class MemoryReadModel implements ReadModel {
  private readonly posts = new Expiring<Uint8Array>();
  private readonly users = new Expiring<Uint8Array>();
  private readonly counts = new Expiring<Counts>();
  private readonly liked = new Expiring<{ since: number; states: Map<string, boolean> }>();
  private readonly gone = new Expiring<Set<string>>();
  private readonly celebrities = new Map<string, { version: number; epoch?: number; list?: string[] }>();
  private epoch = 0;
  private readonly parts: PageParts;

  constructor(
    private readonly feeds: FeedCache,
    private readonly timelines: FeedCache,
    private readonly options: ReadModelOptions,
  ) {
    this.parts = {
      feeds,
      timelines,
      state: async (readerId) => {
        const cel = this.celebrities.get(readerId);
        return {
          celebrities: cel?.list && cel.epoch === this.epoch ? cel.list : null,
          gone: this.gone.get(readerId) ?? new Set<string>(),
        };
      },
      bodies: async (postIds) => postIds.map((id) => this.posts.get(id) ?? null),
      hydrate: async (readerId, entries) => {
        const likes = this.liked.get(readerId);
        await this.feeds.touch(readerId);
        const gone = this.gone.get(readerId);
        if (gone) this.gone.set(readerId, gone, this.options.feedTtlSeconds);
        return {
          users: entries.map((e) => this.users.get(e.authorId) ?? null),
          counts: entries.map((e) => this.counts.get(e.postId) ?? null),
          liked: entries.map((e) => likes?.states.get(e.postId)),
          likedSince: likes?.since ?? null,
        };
      },
    };
  }

  async close(): Promise<void> {}

  page(readerId: string, limit: number, before: string | null): Promise<ModelPage> {
    return mergedPage(this.parts, readerId, limit, before);
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
