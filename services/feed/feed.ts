// The home feed's read path: page through the reader's precomputed feed, newest first, and
// hydrate each entry (post, author). Entries whose post was deleted, or is no longer visible to
// the reader, are skipped and the page is filled from older entries, so a page is never short
// while older content exists.

import type { User } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import type { Post } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import type { FeedStore } from "./store.js";

export interface Hydrator {
  posts(postIds: string[]): Promise<Post[]>;
  users(userIds: string[]): Promise<User[]>;
}

export interface FeedPage {
  items: { post: Post; author: User | undefined }[];
  /** The post id to continue after, or null at the end of the feed. */
  next: string | null;
}

export class HomeFeed {
  constructor(private readonly store: FeedStore) {}

  async page(readerId: string, limit: number, before: string | null, hydrate: Hydrator): Promise<FeedPage> {
    const posts: Post[] = [];
    let cursor = before;
    let exhausted = false;
    // Read a little more than asked, so one extra entry tells whether there is a next page.
    while (posts.length <= limit && !exhausted) {
      const want = limit + 1 - posts.length;
      const entries = await this.store.page(readerId, Math.min(100, want + 4), cursor);
      exhausted = entries.length < Math.min(100, want + 4);
      if (entries.length === 0) break;
      cursor = entries.at(-1)!.postId;
      const found = new Map((await hydrate.posts(entries.map((e) => e.postId))).map((p) => [p.postId, p]));
      for (const e of entries) {
        const post = found.get(e.postId);
        if (post) posts.push(post);
        if (posts.length > limit) break;
      }
    }
    const page = posts.slice(0, limit);
    const authors = new Map((page.length ? await hydrate.users([...new Set(page.map((p) => p.authorId))]) : []).map((u) => [u.userId, u]));
    return {
      items: page.map((post) => ({ post, author: authors.get(post.authorId) })),
      next: posts.length > limit ? page.at(-1)!.postId : null,
    };
  }
}
