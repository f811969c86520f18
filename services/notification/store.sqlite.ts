// NotificationStore on the embedded SQLite database: one transaction per change.
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import { type HeldMention, HOLD_MENTION_MS, type NotificationRecord, type NotificationStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE notification_inbox (
     recipient_id INTEGER NOT NULL, notification_id INTEGER NOT NULL, kind INTEGER NOT NULL, actor_id INTEGER NOT NULL,
     post_id INTEGER, comment_id INTEGER, create_time INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (recipient_id, notification_id)) WITHOUT ROWID;
   CREATE INDEX notification_inbox_unread ON notification_inbox (recipient_id, notification_id) WHERE read = 0;
   CREATE TABLE notification_refs (
     ref TEXT NOT NULL, recipient_id INTEGER NOT NULL, notification_id INTEGER NOT NULL,
     PRIMARY KEY (ref, recipient_id, notification_id)) WITHOUT ROWID;
   CREATE TABLE notification_closed_refs (ref TEXT PRIMARY KEY) WITHOUT ROWID;
   CREATE TABLE notification_users (username TEXT PRIMARY KEY, user_id INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE notification_held_mentions (
     username TEXT NOT NULL, notification_id INTEGER NOT NULL, actor_id INTEGER NOT NULL, post_id INTEGER NOT NULL,
     create_time INTEGER NOT NULL, expire_time INTEGER NOT NULL, PRIMARY KEY (username, notification_id)) WITHOUT ROWID;
   CREATE INDEX notification_held_mentions_expiry ON notification_held_mentions (expire_time);`,
];

const COLUMNS = "recipient_id, notification_id, kind, actor_id, post_id, comment_id, create_time, read";
const MAX_ID = "9223372036854775807";
const optionalId = (id: string) => (id === "" ? null : BigInt(id));

function toRecord(r: Row): NotificationRecord {
  return {
    recipientId: col.id(r.recipient_id),
    notificationId: col.id(r.notification_id),
    kind: col.num(r.kind),
    actorId: col.id(r.actor_id),
    postId: col.id(r.post_id),
    commentId: col.id(r.comment_id),
    createTime: col.num(r.create_time),
    read: col.bool(r.read),
  };
}

export class SqliteNotificationStore implements NotificationStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("notification", MIGRATIONS);
  }

  async add(n: NotificationRecord, refs: string[]): Promise<boolean> {
    return this.db.tx(() => {
      if (refs.some((ref) => this.db.get("SELECT 1 FROM notification_closed_refs WHERE ref = ?", ref))) return false;
      const added = this.db.run(
        `INSERT INTO notification_inbox (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`,
        BigInt(n.recipientId),
        BigInt(n.notificationId),
        n.kind,
        BigInt(n.actorId),
        optionalId(n.postId),
        optionalId(n.commentId),
        n.createTime,
      ).changes;
      if (added === 0) return false;
      for (const ref of refs) {
        this.db.run(
          "INSERT OR IGNORE INTO notification_refs (ref, recipient_id, notification_id) VALUES (?, ?, ?)",
          ref,
          BigInt(n.recipientId),
          BigInt(n.notificationId),
        );
      }
      return true;
    });
  }

  async retract(ref: string, close: boolean): Promise<void> {
    this.db.tx(() => {
      if (close) this.db.run("INSERT OR IGNORE INTO notification_closed_refs (ref) VALUES (?)", ref);
      for (const r of this.db.all("SELECT recipient_id, notification_id FROM notification_refs WHERE ref = ?", ref)) {
        this.db.run("DELETE FROM notification_inbox WHERE recipient_id = ? AND notification_id = ?", r.recipient_id!, r.notification_id!);
      }
      this.db.run("DELETE FROM notification_refs WHERE ref = ?", ref);
    });
  }

  async list(recipientId: string, limit: number, before: string | null, unreadOnly: boolean): Promise<NotificationRecord[]> {
    return this.db
      .all(
        `SELECT ${COLUMNS} FROM notification_inbox WHERE recipient_id = ? AND notification_id < ? ${unreadOnly ? "AND read = 0" : ""}
         ORDER BY notification_id DESC LIMIT ?`,
        BigInt(recipientId),
        BigInt(before ?? MAX_ID),
        limit,
      )
      .map(toRecord);
  }

  async markRead(recipientId: string, ids: string[], upTo: string | null): Promise<number> {
    return this.db.tx(() => {
      if (ids.length > 0) {
        this.db.run(
          `UPDATE notification_inbox SET read = 1 WHERE recipient_id = ? AND read = 0 AND notification_id IN ${ID_LIST}`,
          BigInt(recipientId),
          JSON.stringify(ids),
        );
      }
      if (upTo !== null) {
        this.db.run(
          "UPDATE notification_inbox SET read = 1 WHERE recipient_id = ? AND read = 0 AND notification_id < ?",
          BigInt(recipientId),
          BigInt(upTo),
        );
      }
      return this.count(recipientId);
    });
  }

  async unreadCount(recipientId: string): Promise<number> {
    return this.count(recipientId);
  }

  async saveUser(userId: string, username: string): Promise<void> {
    this.db.run(
      "INSERT INTO notification_users (username, user_id) VALUES (?, ?) ON CONFLICT (username) DO UPDATE SET user_id = excluded.user_id",
      username,
      BigInt(userId),
    );
  }

  async userIds(usernames: string[]): Promise<Map<string, string>> {
    if (usernames.length === 0) return new Map();
    const rows = this.db.all(
      "SELECT username, user_id FROM notification_users WHERE username IN (SELECT value FROM json_each(?))",
      JSON.stringify(usernames),
    );
    return new Map(rows.map((r) => [col.str(r.username), col.id(r.user_id)]));
  }

  async holdMention(username: string, m: HeldMention): Promise<void> {
    const now = Date.now();
    this.db.tx(() => {
      this.db.run("DELETE FROM notification_held_mentions WHERE expire_time < ?", now);
      this.db.run(
        `INSERT OR IGNORE INTO notification_held_mentions (username, notification_id, actor_id, post_id, create_time, expire_time)
         VALUES (?, ?, ?, ?, ?, ?)`,
        username,
        BigInt(m.notificationId),
        BigInt(m.actorId),
        BigInt(m.postId),
        m.createTime,
        now + HOLD_MENTION_MS,
      );
    });
  }

  async heldMentions(username: string): Promise<HeldMention[]> {
    return this.db
      .all(
        "SELECT notification_id, actor_id, post_id, create_time FROM notification_held_mentions WHERE username = ? AND expire_time >= ?",
        username,
        Date.now(),
      )
      .map((r) => ({
        notificationId: col.id(r.notification_id),
        actorId: col.id(r.actor_id),
        postId: col.id(r.post_id),
        createTime: col.num(r.create_time),
      }));
  }

  async releaseMentions(username: string, notificationIds: string[]): Promise<void> {
    if (notificationIds.length === 0) return;
    this.db.run(
      `DELETE FROM notification_held_mentions WHERE username = ? AND notification_id IN ${ID_LIST}`,
      username,
      JSON.stringify(notificationIds),
    );
  }

  private count(recipientId: string): number {
    return col.num(this.db.get("SELECT count(*) AS n FROM notification_inbox WHERE recipient_id = ? AND read = 0", BigInt(recipientId))?.n);
  }
}
