// The search service's storage port: an inverted index of posts (caption words and "#hashtags")
// and a prefix index of users (username and display name), both filled from events.
// Adapters: store.sqlite.ts (embedded, FTS5), store.cassandra.ts (Cassandra/ScyllaDB, own tables).

/** A page of matching post ids, newest first, and where to continue (null: no more matches). */
export interface PostHits {
  ids: string[];
  next: string | null;
}

export interface IndexedUser {
  userId: string;
  username: string;
  /** The display name, folded (see fold in search.ts). */
  displayKey: string;
}

export interface SearchStore {
  /**
   * Indexes a post under its terms (words, and hashtags as "#tag"), replacing the terms it had.
   * A removed post is not indexed again.
   */
  indexPost(postId: string, terms: string[]): Promise<void>;
  /** Takes a post out of the index for good. */
  removePost(postId: string): Promise<void>;
  /**
   * Posts having every term, with ids below the cursor, newest first: at most limit. An adapter
   * may bound its work per call and return fewer, with a cursor to continue from.
   */
  findPosts(terms: string[], limit: number, before: string | null): Promise<PostHits>;
  setLikeCount(postId: string, likes: number): Promise<void>;
  /** The like count of each post (0 when none is known). */
  likeCounts(postIds: string[]): Promise<Map<string, number>>;

  /** Indexes (or re-indexes) a user under the prefixes of the username and the display name. */
  indexUser(user: IndexedUser): Promise<void>;
  /** Users whose username or display key starts with the prefix, by username, after a username. */
  findUsers(prefix: string, limit: number, after: string | null): Promise<IndexedUser[]>;
}
