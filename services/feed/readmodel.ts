// The home feed's read model: everything a cached reader's page needs, kept so that a page is one
// round trip to it (docs/feed.md, "Read path"). The feed owns it; the services whose calls must
// take effect before they return (DeletePost, EditPost, UpdateProfile, Unfollow, RemoveFollower,
// Like, ...) write through the narrow ReadModelWriter side, and the feed's event consumer
// (readmodel.events.ts) repairs what a failed write left behind. Adapters: readmodel.redis.ts
// (one Lua script per page) and readmodel.memory.ts (the embedded mode); test/readmodel.suite.ts
// runs the same contract against both.
import { ID_EPOCH_MS } from "../platform/ids.js";
import type { FeedEntry } from "./store.js";

export type { FeedEntry };

export interface Counts {
  likes: number;
  comments: number;
}

/** One item of a page, as the read model holds it; null parts are not cached (the caller fills them). */
export interface ModelItem {
  postId: string;
  authorId: string;
  /** The post as feedmesh.post.v1.Post bytes, or null when not cached. */
  post: Uint8Array | null;
  /** The author as feedmesh.identity.v1.User bytes, or null when not cached. */
  user: Uint8Array | null;
  counts: Counts | null;
  /** Whether the reader likes the post, or null when the read model does not know. */
  liked: boolean | null;
}

export type ModelPage =
  | {
      hit: true;
      /** At most `limit` items, newest first; tombstoned posts and hidden authors already left out. */
      items: ModelItem[];
      /** The post id to continue below, or null at the end of the feed. */
      next: string | null;
    }
  | {
      hit: false;
      /**
       * feed: the reader's feed is not cached; celebrities: the reader's list of followed
       * celebrities is not cached (or older than the last promotion or demotion); timelines: these
       * celebrities' recent posts are not cached; deep: the page reaches below what the cached
       * feed or a cached timeline holds (the stores answer it).
       */
      miss: "feed" | "celebrities" | "timelines" | "deep";
      authors: string[];
    };

/** What a reader's list of celebrities was read under: a later change makes setCelebrities a no-op. */
export interface CelebrityStamp {
  version: string;
  epoch: string;
}

/** The writes other services make, synchronously, before their calls return. */
export interface ReadModelWriter {
  /** Post bodies; `overwrite` false keeps what is there (a read's fill), true replaces it (create, edit); never over a tombstone. */
  putPosts(posts: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void>;
  /** A deleted post: its body becomes a tombstone, so no page shows it from now on. */
  deletePost(postId: string): Promise<void>;
  /** Forgets a body (the next read that needs it fetches it), unless it is a tombstone. */
  forgetPost(postId: string): Promise<void>;
  putUsers(users: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void>;
  /** Forgets a profile (the next read that needs it fetches it). */
  dropUser(userId: string): Promise<void>;
  putCounts(counts: { postId: string; counts: Counts }[], overwrite: boolean): Promise<void>;
  /** Forgets a post's counts (a comment changed them; the next read fetches them). */
  forgetCounts(postId: string): Promise<void>;
  /**
   * The reader's like state of posts. `create` false (a Like/Unlike) writes only into a reader's
   * existing set; true (a read's fill) creates it. A set created at time T knows every like made
   * after T, so posts created after T need no lookup.
   */
  putLiked(readerId: string, states: { postId: string; liked: boolean }[], create: boolean): Promise<void>;
  /** The reader no longer follows the author (unfollow, removed as a follower): hidden from now on. */
  hideAuthor(readerId: string, authorId: string): Promise<void>;
  /** The reader follows the author again. */
  unhideAuthor(readerId: string, authorId: string): Promise<void>;
  /** The reader's follows changed: the cached list of followed celebrities is stale. */
  celebritiesChanged(readerId: string): Promise<void>;
  /** An account was promoted or demoted: every reader's cached list of celebrities is stale. */
  celebrityStatesChanged(): Promise<void>;
  /** A new post of an author, for the author's timeline (kept only while cached: a celebrity's). */
  timelineAdd(entry: FeedEntry): Promise<void>;
  timelineRemove(entry: FeedEntry): Promise<void>;
}

export interface ReadModel extends ReadModelWriter {
  /** One page of the reader's home feed below the cursor (a post id; null for the newest page). */
  page(readerId: string, limit: number, before: string | null): Promise<ModelPage>;
  celebrityStamp(readerId: string): Promise<CelebrityStamp>;
  /** Caches the reader's followed celebrities, unless they changed since `stamp` was read. */
  setCelebrities(readerId: string, authorIds: string[], stamp: CelebrityStamp): Promise<void>;
  /** Caches an author's newest posts (from the post store), newest first or in any order. */
  timelineFill(authorId: string, entries: FeedEntry[]): Promise<void>;
  close(): Promise<void>;
}

export interface ReadModelOptions {
  /** How long bodies, profiles, tombstones, like sets and hidden-author lists live (s). */
  ttlSeconds: number;
  /** How long counts live (s): exact after every change, the TTL bounds a raced write. */
  countsTtlSeconds: number;
  /** The idle expiry of a reader's cached feed, refreshed by each read (s). */
  feedTtlSeconds: number;
  /** The newest posts kept per celebrity timeline. */
  timelineCap: number;
}

/** A like set knows posts created this long after it (clocks of processes may differ by less). */
export const LIKED_MARGIN_MS = 5_000;

/** Whether the reader's like state of a post is known without a lookup (not liked). */
export function likeKnownAbsent(likedSince: number | null, postId: string): boolean {
  // The post's time to within a millisecond without BigInt (ids: 22 bits below the time).
  return likedSince !== null && Number(postId) / 4_194_304 + ID_EPOCH_MS > likedSince + LIKED_MARGIN_MS;
}
