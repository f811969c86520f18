// The home-feed storage port, shared by the feed's read path (feed) and its write path (fanout):
// one entry per (reader, post), ordered by post id (ids are time-ordered).
export interface FeedEntry {
  postId: string;
  authorId: string;
}

export interface FeedStore {
  /** Adds entries to many readers' feeds; adding an entry twice changes nothing. */
  add(readerIds: string[], entry: FeedEntry): Promise<void>;
  /** Adds several entries to one reader's feed (follow backfill). */
  addMany(readerId: string, entries: FeedEntry[]): Promise<void>;
  /** A reader's entries older than the cursor (a post id), newest first. */
  page(readerId: string, limit: number, before: string | null): Promise<FeedEntry[]>;
  /** Removes a post from these readers' feeds. */
  remove(readerIds: string[], entry: FeedEntry): Promise<void>;
  /**
   * Removes an author's posts from one reader's feed (an unfollow): at least those of the last
   * UNFOLLOW_CLEANUP_MS. Older entries may stay; the read path skips the posts of authors the
   * reader does not follow.
   */
  removeAuthor(readerId: string, authorId: string): Promise<void>;
}

/** How far back an unfollow cleans a reader's stored feed (about three months). */
export const UNFOLLOW_CLEANUP_MS = 92 * 86_400_000;
