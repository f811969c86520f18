// SearchStore on the embedded SQLite database: posts in an FTS5 table (rowid = post id, so results
// come newest first from the index itself), terms already folded by the domain and kept whole
// (tokenchars '_'); users in a table with an index per prefix column.
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import type { IndexedUser, PostHits, SearchStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE search_posts (post_id INTEGER PRIMARY KEY, removed INTEGER NOT NULL DEFAULT 0, like_count INTEGER NOT NULL DEFAULT 0);
   CREATE VIRTUAL TABLE search_post_terms USING fts5(words, tags, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
   CREATE TABLE search_users (user_id INTEGER PRIMARY KEY, username TEXT NOT NULL, display_key TEXT NOT NULL);
   CREATE INDEX search_users_username ON search_users (username);
   CREATE INDEX search_users_display ON search_users (display_key);`,
];

const MAX_ID = "9223372036854775807";
/** Sorts after every character: the exclusive upper bound of a prefix range. */
const LAST_CHAR = "\u{10FFFF}";

/** An FTS5 query: every term, words in the words column and "#tags" in the tags column. */
function matchExpression(terms: string[]): string {
  return terms.map((t) => (t.startsWith("#") ? `tags : "${t.slice(1)}"` : `words : "${t}"`)).join(" AND ");
}

function toUser(r: Row): IndexedUser {
  return { userId: col.id(r.user_id), username: col.str(r.username), displayKey: col.str(r.display_key) };
}

export class SqliteSearchStore implements SearchStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("search", MIGRATIONS);
  }

  async indexPost(postId: string, terms: string[]): Promise<void> {
    const id = BigInt(postId);
    this.db.tx(() => {
      if (col.bool(this.db.get("SELECT removed FROM search_posts WHERE post_id = ?", id)?.removed)) return;
      this.db.run("INSERT OR IGNORE INTO search_posts (post_id) VALUES (?)", id);
      this.db.run("DELETE FROM search_post_terms WHERE rowid = ?", id);
      this.db.run(
        "INSERT INTO search_post_terms (rowid, words, tags) VALUES (?, ?, ?)",
        id,
        terms.filter((t) => !t.startsWith("#")).join(" "),
        terms
          .filter((t) => t.startsWith("#"))
          .map((t) => t.slice(1))
          .join(" "),
      );
    });
  }

  async removePost(postId: string): Promise<void> {
    const id = BigInt(postId);
    this.db.tx(() => {
      this.db.run("INSERT INTO search_posts (post_id, removed) VALUES (?, 1) ON CONFLICT (post_id) DO UPDATE SET removed = 1", id);
      this.db.run("DELETE FROM search_post_terms WHERE rowid = ?", id);
    });
  }

  async findPosts(terms: string[], limit: number, before: string | null): Promise<PostHits> {
    const rows = this.db.all(
      "SELECT rowid AS id FROM search_post_terms WHERE search_post_terms MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
      matchExpression(terms),
      BigInt(before ?? MAX_ID),
      limit + 1,
    );
    const ids = rows.slice(0, limit).map((r) => col.id(r.id));
    return { ids, next: rows.length > limit ? ids.at(-1)! : null };
  }

  async setLikeCount(postId: string, likes: number): Promise<void> {
    this.db.run(
      "INSERT INTO search_posts (post_id, like_count) VALUES (?, ?) ON CONFLICT (post_id) DO UPDATE SET like_count = excluded.like_count",
      BigInt(postId),
      likes,
    );
  }

  async likeCounts(postIds: string[]): Promise<Map<string, number>> {
    const counts = new Map(postIds.map((id) => [id, 0]));
    if (postIds.length === 0) return counts;
    for (const r of this.db.all(`SELECT post_id, like_count FROM search_posts WHERE post_id IN ${ID_LIST}`, JSON.stringify(postIds))) {
      counts.set(col.id(r.post_id), col.num(r.like_count));
    }
    return counts;
  }

  async indexUser(u: IndexedUser): Promise<void> {
    this.db.run(
      `INSERT INTO search_users (user_id, username, display_key) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, display_key = excluded.display_key`,
      BigInt(u.userId),
      u.username,
      u.displayKey,
    );
  }

  async findUsers(prefix: string, limit: number, after: string | null): Promise<IndexedUser[]> {
    return this.db
      .all(
        `SELECT user_id, username, display_key FROM search_users
         WHERE ((username >= ?1 AND username < ?2) OR (display_key >= ?1 AND display_key < ?2)) AND username > ?3
         ORDER BY username LIMIT ?4`,
        prefix,
        prefix + LAST_CHAR,
        after ?? "",
        limit,
      )
      .map(toUser);
  }
}
