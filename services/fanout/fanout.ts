// The home feed's write path (fan-out on write), for authors below the celebrity threshold: a new
// post goes into the store (the source of truth) and into the cached feeds of each follower, page
// by page, and the author's own. Celebrities' posts are not fanned out; readers pull them (see
// feed/feed.ts). A deleted post leaves the feeds; an unfollow takes the followee's posts out of the
// follower's feed; a follow backfills the followee's recent posts; an author who drops below the
// threshold has their recent posts backfilled into every follower's feed, since readers stop
// pulling them. Every handler is idempotent, since events arrive at least once.
import type { SafeFeedCache } from "../feed/cache.safe.js";
import type { FeedEntry, FeedStore } from "../feed/store.js";
import type { Delivery } from "../platform/events.js";

export interface FanoutSources {
  /** One page of an author's followers; next is "" at the end. */
  followers(authorId: string, pageToken: string): Promise<{ ids: string[]; next: string }>;
  followerCount(authorId: string): Promise<number>;
  /** An author's most recent post ids. */
  recentPosts(authorId: string, limit: number): Promise<string[]>;
}

export interface FanoutOptions {
  /** How many of a followee's recent posts a follow (or a demotion) brings into feeds. */
  backfill: number;
  celebrityThreshold: number;
}

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
    const celebrity = (await this.sources.followerCount(entry.authorId)) >= this.options.celebrityThreshold;
    if (e.case === "created") {
      await this.write([entry.authorId], [entry]);
      if (!celebrity) await this.forFollowers(entry.authorId, (readers) => this.write(readers, [entry]));
    } else {
      // Reads skip deleted posts at once; this cleans the feeds. A celebrity's later posts were
      // never fanned out, so only the author's own feed needs it then.
      await this.remove([entry.authorId], entry);
      if (!celebrity) await this.forFollowers(entry.authorId, (readers) => this.remove(readers, entry));
    }
  }

  async onFollow({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    const { backfill, celebrityThreshold } = this.options;
    if (e.case === "followed") {
      if (Number(e.value.followeeFollowerCount) >= celebrityThreshold) return; // pulled at read time
      const entries = await this.recent(e.value.followeeId, backfill);
      await this.write([e.value.followerId], entries);
    } else if (e.case === "unfollowed") {
      await this.store.removeAuthor(e.value.followerId, e.value.followeeId);
      await this.cache.removeAuthor(e.value.followerId, e.value.followeeId);
      if (Number(e.value.followeeFollowerCount) === celebrityThreshold - 1) {
        // Just below the threshold: readers stop pulling this author, so push the recent posts.
        const entries = await this.recent(e.value.followeeId, backfill);
        await this.forFollowers(e.value.followeeId, async (readers) => {
          for (const r of readers) await this.write([r], entries);
        });
      }
    }
  }

  private async recent(authorId: string, limit: number): Promise<FeedEntry[]> {
    if (limit === 0) return [];
    return (await this.sources.recentPosts(authorId, limit)).map((postId) => ({ postId, authorId }));
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

  /** Calls fn with each page of the author's current followers (memory stays bounded). */
  private async forFollowers(authorId: string, fn: (readers: string[]) => Promise<void>): Promise<void> {
    let token = "";
    do {
      const page = await this.sources.followers(authorId, token);
      if (page.ids.length > 0) await fn(page.ids);
      token = page.next;
    } while (token !== "");
  }
}
