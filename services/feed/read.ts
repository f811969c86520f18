// GetHomeFeed's two paths. The fast one: one round trip to the read model returns the page with
// every part stored as bytes; a part it lacks (a post body, a profile, counts, a like state not
// known yet) is fetched from its service for just those posts and written back, so the next read
// has it. The slow one (feed.ts, through the services and stores) serves what the read model
// cannot: a reader whose feed is not cached, a page deeper than the cache, a read model that is
// down; it warms the read model with what it fetched. docs/feed.md lists the guarantees of both.
import { toBinary } from "@bufbuild/protobuf";
import { type User, UserSchema } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { type Post, PostSchema } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { instruments } from "../platform/metrics.js";
import type { HomeFeed } from "./feed.js";
import type { Counts, ModelItem } from "./readmodel.js";
import type { SafeReadModel } from "./readmodel.safe.js";
import type { ItemBytes } from "./splice.js";

/** What the read path asks other services (as the reader, except where noted). */
export interface ReadSources {
  /** Live posts visible to the reader, among these ids. */
  posts(postIds: string[]): Promise<Post[]>;
  users(userIds: string[]): Promise<User[]>;
  /** The accounts the reader follows that are over the celebrity threshold. */
  celebrities(): Promise<string[]>;
  /** The counts of posts and whether the reader likes each; null when the engagement service failed. */
  counters(postIds: string[]): Promise<Map<string, Counts & { liked: boolean }> | null>;
  /** An author's newest post ids (as the service: a timeline is shared by every reader). */
  timeline(authorId: string, limit: number): Promise<string[]>;
}

export interface ReadPage {
  items: ItemBytes[];
  next: string | null;
  /** Which path served it (for tests and metrics). */
  path: "fast" | "slow";
}

/** The newest posts of a celebrity a timeline fill reads (the read model's timeline cap). */
const TIMELINE_FILL = 100;

export class FeedReader {
  /** Pages served by each path since start, and why the read model missed (tests; metrics). */
  readonly served = { fast: 0, slow: 0, repaired: 0, feed: 0, celebrities: 0, timelines: 0, deep: 0, down: 0, gone: 0 };

  constructor(
    private readonly model: SafeReadModel,
    private readonly slow: HomeFeed,
  ) {}

  async page(
    readerId: string,
    limit: number,
    before: string | null,
    src: ReadSources & Parameters<HomeFeed["page"]>[3],
  ): Promise<ReadPage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const page = await this.model.page(readerId, limit, before);
      if (page === null) {
        this.served.down++;
        break; // unreachable: the slow path
      }
      if (page.hit) {
        const items = await this.complete(readerId, page.items, src);
        if (items) {
          this.served.fast++;
          return { items, next: page.next, path: "fast" };
        }
        this.served.gone++;
        break; // a post the model held is gone for this reader: the slow path decides the page
      }
      this.served[page.miss]++;
      if (page.miss !== "deep") instruments().rebuilds.add(1, { part: page.miss });
      if (page.miss === "celebrities") await this.fillCelebrities(readerId, src);
      else if (page.miss === "timelines") await Promise.all(page.authors.map((a) => this.fillTimeline(a, src)));
      else break; // feed (the slow path fills it) or deep
    }
    return this.slowPage(readerId, limit, before, src);
  }

  /** The parts of a hit the model lacked, from their services; null when a post is not visible any more. */
  private async complete(readerId: string, items: ModelItem[], src: ReadSources): Promise<ItemBytes[] | null> {
    const noPost = items.filter((i) => i.post === null).map((i) => i.postId);
    const noUser = [...new Set(items.filter((i) => i.user === null).map((i) => i.authorId))];
    const noCounts = items.filter((i) => i.counts === null || i.liked === null).map((i) => i.postId);
    if (noPost.length + noUser.length + noCounts.length === 0) {
      return items.map((i) => ({ postId: i.postId, post: i.post!, user: i.user, counters: { ...i.counts!, liked: i.liked! } }));
    }
    this.served.repaired++;
    const [posts, users, counters] = await Promise.all([
      noPost.length ? src.posts(noPost) : [],
      noUser.length ? src.users(noUser) : [],
      noCounts.length ? src.counters(noCounts) : new Map(),
    ]);
    const postBytes = new Map(posts.map((p) => [p.postId, toBinary(PostSchema, p)]));
    if (noPost.some((id) => !postBytes.has(id))) return null;
    const userBytes = new Map(users.map((u) => [u.userId, toBinary(UserSchema, u)]));
    void this.model.write.putPosts(
      [...postBytes].map(([id, bytes]) => ({ id, bytes })),
      false,
    );
    void this.model.write.putUsers(
      [...userBytes].map(([id, bytes]) => ({ id, bytes })),
      false,
    );
    if (counters) void this.remember(readerId, counters);
    return items.map((i) => {
      const c = i.counts && i.liked !== null ? { ...i.counts, liked: i.liked } : (counters?.get(i.postId) ?? null);
      return { postId: i.postId, post: i.post ?? postBytes.get(i.postId)!, user: i.user ?? userBytes.get(i.authorId) ?? null, counters: c };
    });
  }

  private async remember(readerId: string, counters: Map<string, Counts & { liked: boolean }>): Promise<void> {
    const rows = [...counters];
    await Promise.all([
      this.model.write.putCounts(
        rows.map(([postId, c]) => ({ postId, counts: { likes: c.likes, comments: c.comments } })),
        false,
      ),
      this.model.write.putLiked(
        readerId,
        rows.map(([postId, c]) => ({ postId, liked: c.liked })),
        true,
      ),
    ]);
  }

  private async fillCelebrities(readerId: string, src: ReadSources): Promise<void> {
    const stamp = await this.model.run("celebrityStamp", null, (m) => m.celebrityStamp(readerId));
    if (!stamp) return;
    const list = await src.celebrities();
    await this.model.run("setCelebrities", undefined, (m) => m.setCelebrities(readerId, list, stamp));
  }

  /** Caches a celebrity's newest posts; then reads the head again for a post its fan-out found no timeline for. */
  private async fillTimeline(authorId: string, src: ReadSources): Promise<void> {
    const ids = await src.timeline(authorId, TIMELINE_FILL);
    await this.model.run("timelineFill", undefined, (m) =>
      m.timelineFill(
        authorId,
        ids.map((postId) => ({ postId, authorId })),
      ),
    );
    const known = new Set(ids);
    for (const postId of await src.timeline(authorId, 20)) {
      if (!known.has(postId)) await this.model.write.timelineAdd({ postId, authorId });
    }
  }

  /** The page through the services and stores (feed.ts); what it fetched warms the read model. */
  private async slowPage(
    readerId: string,
    limit: number,
    before: string | null,
    src: ReadSources & Parameters<HomeFeed["page"]>[3],
  ): Promise<ReadPage> {
    this.served.slow++;
    // The celebrity list the slow path reads is kept too (unless the reader's follows changed meanwhile).
    const stamp = await this.model.run("celebrityStamp", null, (m) => m.celebrityStamp(readerId));
    let celebrities: string[] | undefined;
    const page = await this.slow.page(readerId, limit, before, {
      posts: (ids) => src.posts(ids),
      users: (ids) => src.users(ids),
      pulled: (authors, n, below) => src.pulled(authors, n, below),
      following: (authors) => src.following(authors),
      celebrities: async () => (celebrities = await src.celebrities()),
    });
    if (stamp && celebrities) {
      const list = celebrities;
      void this.model.run("setCelebrities", undefined, (m) => m.setCelebrities(readerId, list, stamp));
    }
    const ids = page.items.map((i) => i.post.postId);
    const counters = ids.length ? await src.counters(ids) : new Map<string, Counts & { liked: boolean }>();
    const items = page.items.map(({ post, author }) => ({
      postId: post.postId,
      post: toBinary(PostSchema, post),
      user: author ? toBinary(UserSchema, author) : null,
      counters: counters?.get(post.postId) ?? null,
    }));
    void this.model.write.putPosts(
      items.map((i) => ({ id: i.postId, bytes: i.post })),
      false,
    );
    const users = new Map(page.items.flatMap(({ author }, k) => (author ? [[author.userId, items[k]!.user!] as const] : [])));
    void this.model.write.putUsers(
      [...users].map(([id, bytes]) => ({ id, bytes })),
      false,
    );
    if (counters) void this.remember(readerId, counters);
    return { items, next: page.next, path: "slow" };
  }
}
