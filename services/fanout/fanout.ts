// The home feed's write path (fan-out on write): a new post goes into the store (the source of
// truth) and into the cached feeds of each follower, page by page, and the author's own. The posts
// a celebrity creates once the graph has put it in every follower's celebrity index are not fanned
// out; readers pull them (see feed/feed.ts). A deleted post leaves the feeds; an unfollow takes the
// followee's posts out of the follower's feed; a follow backfills the followee's recent posts,
// unless it was made while the followee was a celebrity (then the follower pulls every post). When
// the graph demotes a celebrity, its followers still pull it while this pushes every post it
// created as a celebrity into their feeds, and its older posts into the feeds of those who
// followed it as a celebrity (they saw those too), and only then tells the graph, which takes it
// out of the index: no post is missing from a feed at any moment. Every handler is idempotent,
// since events arrive at least once.

import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { SafeFeedCache } from "../feed/cache.safe.js";
import type { FeedEntry, FeedStore } from "../feed/store.js";
import type { Delivery } from "../platform/events.js";
import { idTime } from "../platform/ids.js";

export interface FanoutSources {
  /** One page of an author's followers and when each followed (ms); next is "" at the end. */
  followers(authorId: string, pageToken: string): Promise<{ ids: string[]; followedAt: number[]; next: string }>;
  /** When the author became a celebrity (its posts created since are pulled), or null. */
  celebritySince(authorId: string): Promise<number | null>;
  /** An author's post ids older than `before` (null: the newest), newest first, at most 100. */
  posts(authorId: string, before: string | null, limit: number): Promise<string[]>;
  /** Tells the graph that every follower's feed holds the author's posts created since `since`. */
  backfilled(authorId: string, since: number): Promise<void>;
}

export interface FanoutOptions {
  /** How many of a followee's recent posts a follow brings into the follower's feed. */
  backfill: number;
}

/** The most posts one page of an author's posts holds. */
const POSTS_PAGE = 100;

export class Fanout {
  constructor(
    private readonly store: FeedStore,
    private readonly cache: SafeFeedCache,
    private readonly sources: FanoutSources,
    private readonly options: FanoutOptions,
  ) {}

  async onPost({ event }: Delivery<"posts">): Promise<void> {
    const e = event.event;
    if (e.case !== "created" && e.case !== "deleted") return;
    const entry = { postId: e.value.postId, authorId: e.value.authorId };
    const since = await this.sources.celebritySince(entry.authorId);
    // Decided by the post's time, so a late event decides as the demotion's backfill will.
    const pulled = since !== null && idTime(entry.postId) >= since;
    if (e.case === "created") {
      await this.write([entry.authorId], [entry]);
      if (!pulled) await this.forFollowers(entry.authorId, (readers) => this.write(readers, [entry]));
    } else {
      // Reads skip deleted posts at once; this cleans the feeds. A pulled post was never fanned
      // out, so only the author's own feed needs it then.
      await this.remove([entry.authorId], entry);
      if (!pulled) await this.forFollowers(entry.authorId, (readers) => this.remove(readers, entry));
    }
  }

  async onFollow({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    if (e.case === "followed") {
      // Decided by when the follow was made (as the demotion decides), not when this runs.
      const since = await this.sources.celebritySince(e.value.followeeId);
      const at = event.occurTime ? timestampMs(event.occurTime) : Date.now();
      if (since !== null && at >= since) return; // pulled at read time; a demotion pushes its posts
      const entries = await this.recent(e.value.followeeId, this.options.backfill);
      await this.write([e.value.followerId], entries);
    } else if (e.case === "unfollowed") {
      await this.store.removeAuthor(e.value.followerId, e.value.followeeId);
      await this.cache.removeAuthor(e.value.followerId, e.value.followeeId);
    } else if (e.case === "celebrityDemoting") {
      const since = e.value.since ? timestampMs(e.value.since) : 0;
      await this.pushPulled(e.value.userId, since);
      await this.pushOlder(e.value.userId, since);
      await this.sources.backfilled(e.value.userId, since);
    }
  }

  /**
   * Pushes every post a demoting celebrity created since `since` into every follower's feed: one
   * page of posts at a time, each to every page of followers.
   */
  private async pushPulled(authorId: string, since: number): Promise<void> {
    for (let before: string | null = null; ; ) {
      const ids = await this.sources.posts(authorId, before, POSTS_PAGE);
      const entries = ids.filter((postId) => idTime(postId) >= since).map((postId) => ({ postId, authorId }));
      if (entries.length > 0) await this.forFollowers(authorId, (readers) => this.write(readers, entries));
      if (entries.length < ids.length || ids.length === 0) return; // the older posts were fanned out
      before = ids.at(-1)!;
    }
  }

  /**
   * A follower who followed the author while it was a celebrity got no backfill: its reads pulled
   * every post of the author. Before the pull stops, the author's posts from before `since` go
   * into the feeds of those followers, so that none of the posts they were shown disappears. Paid
   * once per demotion: those followers × the author's older posts.
   */
  private async pushOlder(authorId: string, since: number): Promise<void> {
    const late = (f: { followedAt: number }) => f.followedAt >= since;
    await this.forFollowers(
      authorId,
      async (readers) => {
        for (let before: string | null = null; ; ) {
          const ids = await this.sources.posts(authorId, before, POSTS_PAGE);
          const entries = ids.filter((postId) => idTime(postId) < since).map((postId) => ({ postId, authorId }));
          if (entries.length > 0) await this.write(readers, entries);
          if (ids.length < POSTS_PAGE) return;
          before = ids.at(-1)!;
        }
      },
      late,
    );
  }

  private async recent(authorId: string, limit: number): Promise<FeedEntry[]> {
    if (limit === 0) return [];
    return (await this.sources.posts(authorId, null, Math.min(limit, POSTS_PAGE))).map((postId) => ({ postId, authorId }));
  }

  /** Store first (the source of truth), then the cached feeds of those readers that have one. */
  private async write(readers: string[], entries: FeedEntry[]): Promise<void> {
    for (const entry of entries) {
      await this.store.add(readers, entry);
      await this.cache.add(readers, entry);
    }
  }

  private async remove(readers: string[], entry: FeedEntry): Promise<void> {
    await this.store.remove(readers, entry);
    await this.cache.remove(readers, entry.postId);
  }

  /**
   * Calls fn with each page of the author's current followers (those `only` keeps), reading the
   * next page while fn writes this one (memory stays bounded: two pages at most).
   */
  private async forFollowers(
    authorId: string,
    fn: (readers: string[]) => Promise<void>,
    only?: (f: { followedAt: number }) => boolean,
  ): Promise<void> {
    let page = await this.sources.followers(authorId, "");
    for (;;) {
      const next = page.next === "" ? undefined : this.sources.followers(authorId, page.next);
      next?.catch(() => undefined); // awaited below; a failure of fn must not leave it unhandled
      const ids = only ? page.ids.filter((_, i) => only({ followedAt: page.followedAt[i] ?? 0 })) : page.ids;
      if (ids.length > 0) await fn(ids);
      if (!next) return;
      page = await next;
    }
  }
}
