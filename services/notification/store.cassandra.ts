// NotificationStore on Cassandra/ScyllaDB. Each recipient's inbox lives in month partitions; in
// each, section 0 holds every notification (newest first) and section 1 a marker per unread one,
// so a notification and its marker are written together by one conditional single-partition batch
// (IF NOT EXISTS: a redelivered event changes nothing), the unread count is exact (it counts
// markers), and marking read deletes markers (by id, or a range up to a time). Rows expire after
// the retention period, so only the last few month partitions are ever read.
import { monthOf, monthOfId } from "../platform/buckets.js";
import type { CassandraDb, Row } from "../platform/cassandra.js";
import { type HeldMention, HOLD_MENTION_MS, type NotificationRecord, type NotificationStore } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS notification_inbox (
     recipient_id bigint, month int, section tinyint, notification_id bigint,
     kind int, actor_id bigint, post_id bigint, comment_id bigint, create_time timestamp,
     PRIMARY KEY ((recipient_id, month), section, notification_id)) WITH CLUSTERING ORDER BY (section ASC, notification_id DESC);
   CREATE TABLE IF NOT EXISTS notification_refs (
     ref text, recipient_id bigint, notification_id bigint, closed boolean static,
     PRIMARY KEY (ref, recipient_id, notification_id));
   CREATE TABLE IF NOT EXISTS notification_users (username text PRIMARY KEY, user_id bigint);
   CREATE TABLE IF NOT EXISTS notification_held_mentions (
     username text, notification_id bigint, actor_id bigint, post_id bigint, create_time timestamp,
     PRIMARY KEY (username, notification_id))`,
];

/** Notifications (and their references) are kept this long. */
export const RETENTION_MS = 90 * 86_400_000;
const ALL = 0;
const UNREAD = 1;
const MAX_ID = 9223372036854775807n;
const FIELDS = "notification_id, kind, actor_id, post_id, comment_id, create_time";
const optionalId = (id: string) => (id === "" ? null : BigInt(id));

/** The month partitions that may hold live notifications, newest first. */
function liveMonths(now = Date.now()): number[] {
  const months: number[] = [];
  for (let m = monthOf(now + 86_400_000), oldest = monthOf(now - RETENTION_MS); m >= oldest; m = m % 100 === 1 ? m - 89 : m - 1) {
    months.push(m);
  }
  return months;
}

export class CassandraNotificationStore implements NotificationStore {
  private constructor(private readonly db: CassandraDb) {}

  static async open(db: CassandraDb): Promise<CassandraNotificationStore> {
    await db.migrate("notification", MIGRATIONS);
    return new CassandraNotificationStore(db);
  }

  async add(n: NotificationRecord, refs: string[]): Promise<boolean> {
    const ttl = Math.floor((n.createTime + RETENTION_MS - Date.now()) / 1000);
    if (ttl <= 0) return false; // older than the retention period
    const [recipient, id, month] = [BigInt(n.recipientId), BigInt(n.notificationId), monthOfId(n.notificationId)];
    // The references first: a retraction running meanwhile then finds what it must remove.
    await this.db.concurrent(
      "INSERT INTO notification_refs (ref, recipient_id, notification_id) VALUES (?, ?, ?) USING TTL ?",
      refs.map((ref) => [ref, recipient, id, ttl]),
    );
    const insert = await this.db.batchIf([
      {
        query: `INSERT INTO notification_inbox (recipient_id, month, section, ${FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
        params: [
          recipient,
          month,
          ALL,
          id,
          n.kind,
          BigInt(n.actorId),
          optionalId(n.postId),
          optionalId(n.commentId),
          new Date(n.createTime),
          ttl,
        ],
      },
      {
        query: "INSERT INTO notification_inbox (recipient_id, month, section, notification_id) VALUES (?, ?, ?, ?) USING TTL ?",
        params: [recipient, month, UNREAD, id, ttl],
      },
    ]);
    if (!insert) return false;
    // Closed meanwhile (the post was deleted)? Then the retraction may have missed it: undo.
    for (const ref of refs) {
      if ((await this.db.execute("SELECT closed FROM notification_refs WHERE ref = ? LIMIT 1", [ref])).first()?.closed) {
        await this.remove(recipient, id);
        return false;
      }
    }
    return true;
  }

  async retract(ref: string, close: boolean): Promise<void> {
    if (close) await this.db.execute("UPDATE notification_refs USING TTL ? SET closed = true WHERE ref = ?", [RETENTION_MS / 1000, ref]);
    for await (const r of this.db.rows("SELECT recipient_id, notification_id FROM notification_refs WHERE ref = ?", [ref])) {
      if (r.notification_id === null) continue; // the partition's static row only
      await this.remove(r.recipient_id, r.notification_id);
      await this.db.execute("DELETE FROM notification_refs WHERE ref = ? AND recipient_id = ? AND notification_id = ?", [
        ref,
        r.recipient_id,
        r.notification_id,
      ]);
    }
  }

  async list(recipientId: string, limit: number, before: string | null, unreadOnly: boolean): Promise<NotificationRecord[]> {
    const recipient = BigInt(recipientId);
    const bound = before ? BigInt(before) : MAX_ID;
    const out: NotificationRecord[] = [];
    for (const month of liveMonths().filter((m) => !before || m <= monthOfId(before))) {
      const want = limit - out.length;
      if (unreadOnly) {
        const ids = (
          await this.db.execute(
            "SELECT notification_id FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ? AND notification_id < ? LIMIT ?",
            [recipient, month, UNREAD, bound, want],
          )
        ).rows.map((r) => r.notification_id as bigint);
        if (ids.length > 0) {
          const rows = await this.db.execute(
            `SELECT ${FIELDS} FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ? AND notification_id IN ?`,
            [recipient, month, ALL, ids],
          );
          out.push(...rows.rows.map((r) => toRecord(recipientId, r, false)));
        }
      } else {
        const rows = (
          await this.db.execute(
            `SELECT ${FIELDS} FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ? AND notification_id < ? LIMIT ?`,
            [recipient, month, ALL, bound, want],
          )
        ).rows;
        if (rows.length > 0) {
          const unread = new Set(
            (
              await this.db.execute(
                `SELECT notification_id FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ?
                 AND notification_id >= ? AND notification_id <= ?`,
                [recipient, month, UNREAD, rows.at(-1)!.notification_id, rows[0]!.notification_id],
              )
            ).rows.map((r) => r.notification_id.toString()),
          );
          out.push(...rows.map((r) => toRecord(recipientId, r, !unread.has(r.notification_id.toString()))));
        }
      }
      if (out.length >= limit) break;
    }
    return out.sort((a, b) => (BigInt(b.notificationId) > BigInt(a.notificationId) ? 1 : -1));
  }

  async markRead(recipientId: string, ids: string[], upTo: string | null): Promise<number> {
    const recipient = BigInt(recipientId);
    const byMonth = new Map<number, bigint[]>();
    for (const id of ids) byMonth.set(monthOfId(id), [...(byMonth.get(monthOfId(id)) ?? []), BigInt(id)]);
    const statements: unknown[][] = [...byMonth].map(([month, list]) => [recipient, month, UNREAD, list]);
    await this.db.concurrent(
      "DELETE FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ? AND notification_id IN ?",
      statements,
    );
    if (upTo !== null) {
      await this.db.concurrent(
        "DELETE FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ? AND notification_id < ?",
        liveMonths()
          .filter((m) => m <= monthOfId(upTo))
          .map((month) => [recipient, month, UNREAD, BigInt(upTo)]),
      );
    }
    return this.unreadCount(recipientId);
  }

  async unreadCount(recipientId: string): Promise<number> {
    const counts = await Promise.all(
      liveMonths().map(
        async (month) =>
          (
            await this.db.execute("SELECT count(*) AS n FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section = ?", [
              BigInt(recipientId),
              month,
              UNREAD,
            ])
          ).first()?.n ?? 0,
      ),
    );
    return counts.reduce((sum: number, n) => sum + Number(n), 0);
  }

  async saveUser(userId: string, username: string): Promise<void> {
    await this.db.execute("INSERT INTO notification_users (username, user_id) VALUES (?, ?)", [username, BigInt(userId)]);
  }

  async userIds(usernames: string[]): Promise<Map<string, string>> {
    const found = await Promise.all(
      usernames.map(async (u) => {
        const r = (await this.db.execute("SELECT user_id FROM notification_users WHERE username = ?", [u])).first();
        return r ? ([u, r.user_id.toString()] as const) : null;
      }),
    );
    return new Map(found.filter((f) => f !== null));
  }

  async holdMention(username: string, m: HeldMention): Promise<void> {
    await this.db.execute(
      `INSERT INTO notification_held_mentions (username, notification_id, actor_id, post_id, create_time)
       VALUES (?, ?, ?, ?, ?) USING TTL ?`,
      [username, BigInt(m.notificationId), BigInt(m.actorId), BigInt(m.postId), new Date(m.createTime), HOLD_MENTION_MS / 1000],
    );
  }

  async heldMentions(username: string): Promise<HeldMention[]> {
    const rows = await this.db.execute(
      "SELECT notification_id, actor_id, post_id, create_time FROM notification_held_mentions WHERE username = ?",
      [username],
    );
    return rows.rows.map((r) => ({
      notificationId: r.notification_id.toString(),
      actorId: r.actor_id.toString(),
      postId: r.post_id.toString(),
      createTime: r.create_time.getTime(),
    }));
  }

  async releaseMentions(username: string, notificationIds: string[]): Promise<void> {
    if (notificationIds.length === 0) return;
    await this.db.execute("DELETE FROM notification_held_mentions WHERE username = ? AND notification_id IN ?", [
      username,
      notificationIds.map(BigInt),
    ]);
  }

  private async remove(recipient: bigint, id: bigint): Promise<void> {
    await this.db.execute(
      "DELETE FROM notification_inbox WHERE recipient_id = ? AND month = ? AND section IN (?, ?) AND notification_id = ?",
      [recipient, monthOfId(id.toString()), ALL, UNREAD, id],
    );
  }
}

function toRecord(recipientId: string, r: Row, read: boolean): NotificationRecord {
  return {
    recipientId,
    notificationId: r.notification_id.toString(),
    kind: r.kind,
    actorId: r.actor_id.toString(),
    postId: r.post_id?.toString() ?? "",
    commentId: r.comment_id?.toString() ?? "",
    createTime: r.create_time.getTime(),
    read,
  };
}
