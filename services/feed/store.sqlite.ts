// FeedStore on the embedded SQLite database.
import { col, type EmbeddedDb, ID_LIST } from "../platform/sqlite.js";
import type { FeedEntry, FeedStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE feed_entries (
     reader_id INTEGER NOT NULL, post_id INTEGER NOT NULL, author_id INTEGER NOT NULL,
     PRIMARY KEY (reader_id, post_id)) WITHOUT ROWID;
   CREATE INDEX feed_entries_post ON feed_entries (post_id);
   CREATE INDEX feed_entries_author ON feed_entries (reader_id, author_id);`,
];

export class SqliteFeedStore implements FeedStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("feed", MIGRATIONS);
  }

  async add(readerIds: string[], e: FeedEntry): Promise<void> {
    this.db.tx(() => {
      for (const reader of readerIds) {
        this.db.run(
          "INSERT OR IGNORE INTO feed_entries (reader_id, post_id, author_id) VALUES (?, ?, ?)",
          BigInt(reader),
          BigInt(e.postId),
          BigInt(e.authorId),
        );
      }
    });
  }

  async addMany(readerId: string, entries: FeedEntry[]): Promise<void> {
    this.db.tx(() => {
      for (const e of entries) {
        this.db.run(
          "INSERT OR IGNORE INTO feed_entries (reader_id, post_id, author_id) VALUES (?, ?, ?)",
          BigInt(readerId),
          BigInt(e.postId),
          BigInt(e.authorId),
        );
      }
    });
  }

  async page(readerId: string, limit: number, before: string | null): Promise<FeedEntry[]> {
    return this.db
      .all(
        "SELECT post_id, author_id FROM feed_entries WHERE reader_id = ? AND post_id < ? ORDER BY post_id DESC LIMIT ?",
        BigInt(readerId),
        BigInt(before ?? "9223372036854775807"),
        limit,
      )
      .map((r) => ({ postId: col.id(r.post_id), authorId: col.id(r.author_id) }));
  }

  async remove(readerIds: string[], e: FeedEntry): Promise<void> {
    this.db.run(`DELETE FROM feed_entries WHERE post_id = ? AND reader_id IN ${ID_LIST}`, BigInt(e.postId), JSON.stringify(readerIds));
  }

  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    this.db.run("DELETE FROM feed_entries WHERE reader_id = ? AND author_id = ?", BigInt(readerId), BigInt(authorId));
  }
}
