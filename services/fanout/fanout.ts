// The home feed's write path (fan-out on write): a new post goes into the feed of each of its
// author's followers, and the author's own; a deleted post leaves every feed; an unfollow takes
// the followee's posts out of the follower's feed; a follow backfills the followee's recent posts.
// Every handler is idempotent, since events arrive at least once.

import type { FeedStore } from "../feed/store.js";
import type { Delivery } from "../platform/events.js";

export interface FanoutSources {
  /** Pages through an author's followers; returns the ids and the next cursor ("" at the end). */
  followers(authorId: string, pageToken: string): Promise<{ ids: string[]; next: string }>;
  /** An author's most recent posts. */
  recentPosts(authorId: string, limit: number): Promise<string[]>;
}

export interface FanoutOptions {
  /** How many of a followee's recent posts a new follow brings into the follower's feed. */
  backfill: number;
}

export class Fanout {
  constructor(
    private readonly store: FeedStore,
    private readonly sources: FanoutSources,
    private readonly options: FanoutOptions,
  ) {}

  async onPost({ event }: Delivery<"posts">): Promise<void> {
    const e = event.event;
    if (e.case === "created") {
      const entry = { postId: e.value.postId, authorId: e.value.authorId };
      await this.forAuthorAndFollowers(e.value.authorId, (readers) => this.store.add(readers, entry));
    } else if (e.case === "deleted") {
      const entry = { postId: e.value.postId, authorId: e.value.authorId };
      await this.forAuthorAndFollowers(e.value.authorId, (readers) => this.store.remove(readers, entry));
    }
  }

  /** Calls fn with the author, then with each page of the author's current followers. */
  private async forAuthorAndFollowers(authorId: string, fn: (readers: string[]) => Promise<void>): Promise<void> {
    await fn([authorId]);
    let token = "";
    do {
      const page = await this.sources.followers(authorId, token);
      if (page.ids.length > 0) await fn(page.ids);
      token = page.next;
    } while (token !== "");
  }

  async onFollow({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    if (e.case === "followed") {
      const postIds = await this.sources.recentPosts(e.value.followeeId, this.options.backfill);
      await this.store.addMany(
        e.value.followerId,
        postIds.map((postId) => ({ postId, authorId: e.value.followeeId })),
      );
    } else if (e.case === "unfollowed") {
      await this.store.removeAuthor(e.value.followerId, e.value.followeeId);
    }
  }
}
