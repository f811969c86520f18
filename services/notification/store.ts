// The notification service's storage port: each user's inbox with its read state, the references
// that let a later event take a notification back, and the usernames that mentions name.
// Adapters: store.sqlite.ts (embedded), store.cassandra.ts (Cassandra/ScyllaDB).

export interface NotificationRecord {
  recipientId: string;
  /** Unique within the recipient's inbox and time-ordered: the id of the event that caused it. */
  notificationId: string;
  /** A feedmesh.notification.v1.NotificationKind. */
  kind: number;
  actorId: string;
  /** "" when none. */
  postId: string;
  /** "" when none. */
  commentId: string;
  createTime: number;
  read: boolean;
}

/** A mention of a username the directory does not know yet. */
export interface HeldMention {
  notificationId: string;
  actorId: string;
  postId: string;
  createTime: number;
}

export interface NotificationStore {
  /**
   * Adds an unread notification unless the inbox has one with its id already (a redelivered
   * event: nothing changes, not even its read state), and records it under each ref so that
   * retract(ref) finds it. Adds nothing when a ref was closed. Returns whether it was added.
   */
  add(n: NotificationRecord, refs: string[]): Promise<boolean>;
  /** Removes every notification recorded under ref; closing it also turns away later adds under it. */
  retract(ref: string, close: boolean): Promise<void>;
  /** A recipient's notifications with ids below the cursor, newest first. */
  list(recipientId: string, limit: number, before: string | null, unreadOnly: boolean): Promise<NotificationRecord[]>;
  /** Marks the named notifications read, and with upTo every one with an id below it; returns the unread count after. */
  markRead(recipientId: string, ids: string[], upTo: string | null): Promise<number>;
  unreadCount(recipientId: string): Promise<number>;

  /** The username → user id directory, kept from identity's events. */
  saveUser(userId: string, username: string): Promise<void>;
  /** The user ids of the usernames the directory knows. */
  userIds(usernames: string[]): Promise<Map<string, string>>;
  /** Keeps a mention of an unknown username for a while (the account may be on its way). */
  holdMention(username: string, m: HeldMention): Promise<void>;
  heldMentions(username: string): Promise<HeldMention[]>;
  releaseMentions(username: string, notificationIds: string[]): Promise<void>;
}

/** How long a mention of an unknown username is kept. */
export const HOLD_MENTION_MS = 7 * 86_400_000;
