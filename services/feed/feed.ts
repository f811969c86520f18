// The home feed's read path, the hybrid: the reader's precomputed feed (filled by the fanout,
// cached with a cap, the store behind it) merged with the recent posts of the celebrities the
// reader follows (pulled at read time, never fanned out), newest first by post id, without
// duplicates. A page ends at a post id and the next page starts below it, so posts arriving while
// a client pages never shift, repeat or hide entries. Entries whose post was deleted or hidden, or
// whose author the reader no longer follows (an unfollow whose cleanup is still in flight), are
// skipped and the page is refilled from older entries.
import type { User } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import type { Post } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { compareIds } from "../platform/ids.js";
import { instruments } from "../platform/metrics.js";
import type { SafeFeedCache } from "./cache.safe.js";
import type { FeedEntry, FeedStore } from "./store.js";

/** What the read path asks other services, as the reader. */
export interface FeedSources {
  /** Live posts visible to the reader, among these ids. */
  posts(postIds: string[]): Promise<Post[]>;
  users(userIds: string[]): Promise<User[]>;
  /** The accounts the reader follows that are over the celebrity threshold. */
  celebrities(): Promise<string[]>;
  /** The newest posts of these celebrities older than `before`, merged newest first, `limit` in all. */
  pulled(authorIds: string[], limit: number, before: string | null): Promise<Post[]>;
  /** The authors among these that the reader follows now. */
  following(authorIds: string[]): Promise<Set<string>>;
}

export interface FeedPage {
  items: { post: Post; author: User | undefined }[];
  /** The post id to continue below, or null at the end of the feed. */
  next: string | null;
}

const MAX_ROUNDS = 20;

export class HomeFeed {
  constructor(
    private readonly store: FeedStore,
    private readonly cache: SafeFeedCache,
  ) {}

  async page(readerId: string, limit: number, before: string | null, src: FeedSources): Promise<FeedPage> {
    const want = limit + 1; // one more than asked tells whether a next page exists
    // The celebrity index is read while the first entries are.
    const celebritiesRead = src.celebrities();
    celebritiesRead.catch(() => undefined); // awaited below
    let pulledAuthors: Set<string> | undefined;
    const posts: Post[] = [];
    const users = new Map<string, User>();
    let cursor = before;
    let exhausted = false;
    for (let round = 0; round < MAX_ROUNDS && posts.length < want; round++) {
      const n = Math.min(100, want - posts.length + 2); // 100: the most one batch call takes
      const from = cursor;
      const [entries, pulled] = await Promise.all([
        this.entries(readerId, n, from),
        celebritiesRead.then((c) => (c.length > 0 ? src.pulled(c, n, from) : [])),
      ]);
      pulledAuthors ??= new Set(await celebritiesRead);
      // Merge by id, newest first; keep n, so everything taken is below a single new cursor.
      const byId = new Map<string, { entry?: FeedEntry; post?: Post }>();
      for (const e of entries) byId.set(e.postId, { entry: e });
      for (const p of pulled) byId.set(p.postId, { post: p });
      const taken = [...byId.keys()].sort((a, b) => compareIds(b, a)).slice(0, n);
      if (taken.length === 0) {
        exhausted = true;
        break;
      }
      cursor = taken.at(-1)!;
      const hydrated = new Map((await src.posts(taken.filter((id) => !byId.get(id)!.post))).map((p) => [p.postId, p]));
      const candidates = taken.flatMap((id) => byId.get(id)!.post ?? hydrated.get(id) ?? []);
      const pulledBy = pulledAuthors;
      const authors = [...new Set(candidates.map((p) => p.authorId))].filter((a) => a !== readerId && !pulledBy.has(a));
      // Who the reader still follows, and the candidates' authors, side by side.
      const unknown = [...new Set(candidates.map((p) => p.authorId))].filter((a) => !users.has(a));
      const [followed, found] = await Promise.all([
        authors.length > 0 ? src.following(authors) : new Set<string>(),
        unknown.length > 0 ? src.users(unknown) : [],
      ]);
      for (const u of found) users.set(u.userId, u);
      for (const p of candidates) {
        if (p.authorId === readerId || pulledBy.has(p.authorId) || followed.has(p.authorId)) posts.push(p);
      }
      exhausted = entries.length < n && pulled.length < n;
      if (exhausted) break;
    }
    const page = posts.slice(0, limit);
    return {
      items: page.map((post) => ({ post, author: users.get(post.authorId) })),
      // A page cut short by the round limit (many skipped entries) still says where to go on.
      next: posts.length > limit ? page.at(-1)!.postId : exhausted ? null : cursor,
    };
  }

  /**
   * The reader's precomputed entries below the cursor: from the cache while it holds them, from
   * the store past its cap; a first page that misses the cache rebuilds it from the store.
   */
  private async entries(readerId: string, n: number, cursor: string | null): Promise<FeedEntry[]> {
    const cached = await this.cache.page(readerId, n, cursor);
    instruments().cacheRequests.add(1, { result: cached === null ? "miss" : "hit" });
    if (cached === null) {
      if (cursor !== null) return this.store.page(readerId, n, cursor);
      const rows = await this.store.page(readerId, Math.max(n, this.cache.cap + 1), null);
      await this.cache.fill(readerId, rows);
      // A fan-out that wrote the store after the read above may have found no cached feed to add
      // to (it did not exist yet): read the head again and add what is new. Later fan-outs find
      // the feed cached and add to it themselves.
      const known = new Set(rows.map((r) => r.postId));
      const head = await this.store.page(readerId, Math.max(n, 100), null);
      for (const e of head) if (!known.has(e.postId)) await this.cache.add([readerId], e);
      return head.slice(0, n);
    }
    if (cached.entries.length >= n || cached.complete) return cached.entries;
    const from = cached.entries.at(-1)?.postId ?? cursor;
    return [...cached.entries, ...(await this.store.page(readerId, n - cached.entries.length, from))];
  }
}
