// The notification domain: turns follow, engagement and post events into notifications, one per
// recipient, and serves each user's own inbox. Events arrive at least once, so a notification's id
// is the id of the event that caused it (a redelivery finds it there and changes nothing). Nobody
// is notified of their own action. Unliking, deleting a comment or deleting a post takes the
// notifications it caused back, through references recorded with them.
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { NotificationKind } from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import type { Delivery } from "../platform/events.js";
import { idTime, minIdAt } from "../platform/ids.js";
import type { Logger } from "../platform/log.js";
import type { LiveInbox } from "./live.js";
import type { NotificationRecord, NotificationStore } from "./store.js";

const MAX_ID = 9223372036854775807n;
const EPOCH_MS = idTime("0");
const isId = (id: string) => /^[0-9]{1,19}$/.test(id) && BigInt(id) <= MAX_ID;

const refs = {
  like: (postId: string, userId: string) => `like:${postId}:${userId}`,
  comment: (commentId: string) => `comment:${commentId}`,
  post: (postId: string) => `post:${postId}`,
};

interface Cause {
  eventId: string;
  occurTime?: Timestamp | undefined;
}

interface What {
  kind: NotificationKind;
  actorId: string;
  postId?: string;
  commentId?: string;
}

export class Notifications {
  constructor(
    private readonly store: NotificationStore,
    private readonly live: LiveInbox,
    private readonly log: Logger,
  ) {}

  async onFollow({ event }: Delivery<"follows">): Promise<void> {
    const e = event.event;
    if (e.case === "followed") {
      await this.notify(e.value.followeeId, event, { kind: NotificationKind.FOLLOWED, actorId: e.value.followerId }, []);
    } else if (e.case === "requested") {
      await this.notify(e.value.followeeId, event, { kind: NotificationKind.FOLLOW_REQUESTED, actorId: e.value.followerId }, []);
    }
  }

  async onEngagement({ event }: Delivery<"engagement">): Promise<void> {
    const e = event.event;
    switch (e.case) {
      case "liked": {
        const { postId, postAuthorId, userId } = e.value;
        await this.notify(postAuthorId, event, { kind: NotificationKind.LIKED, actorId: userId, postId }, [
          refs.like(postId, userId),
          refs.post(postId),
        ]);
        return;
      }
      case "unliked":
        return this.store.retract(refs.like(e.value.postId, e.value.userId), false);
      case "commented": {
        const { commentId, postId, postAuthorId, authorId } = e.value;
        await this.notify(postAuthorId, event, { kind: NotificationKind.COMMENTED, actorId: authorId, postId, commentId }, [
          refs.comment(commentId),
          refs.post(postId),
        ]);
        return;
      }
      case "commentDeleted":
        return this.store.retract(refs.comment(e.value.commentId), true);
    }
  }

  async onPost({ event }: Delivery<"posts">): Promise<void> {
    const e = event.event;
    if (e.case === "deleted") return this.store.retract(refs.post(e.value.postId), true);
    if (e.case !== "created" || e.value.mentions.length === 0) return;
    const { postId, authorId, mentions } = e.value;
    const known = await this.store.userIds(mentions);
    for (const username of mentions) {
      const userId = known.get(username);
      if (userId) {
        await this.notify(userId, event, { kind: NotificationKind.MENTIONED, actorId: authorId, postId }, [refs.post(postId)]);
      } else {
        // Unknown yet: the account may exist and its event not be consumed here yet (topics are
        // consumed independently). Kept for a while; the account's creation event releases it.
        await this.store.holdMention(username, {
          notificationId: event.eventId,
          actorId: authorId,
          postId,
          createTime: this.timeOf(event),
        });
      }
    }
  }

  async onUser({ event }: Delivery<"users">): Promise<void> {
    const e = event.event;
    if (e.case !== "created" && e.case !== "updated") return;
    const { userId, username } = e.value;
    await this.store.saveUser(userId, username);
    if (e.case !== "created") return;
    const held = await this.store.heldMentions(username);
    for (const m of held) {
      // A mention made before the account existed named someone else (or nobody).
      if (m.createTime < idTime(userId)) continue;
      await this.notify(
        userId,
        { eventId: m.notificationId },
        { kind: NotificationKind.MENTIONED, actorId: m.actorId, postId: m.postId },
        [refs.post(m.postId)],
        m.createTime,
      );
    }
    await this.store.releaseMentions(
      username,
      held.map((m) => m.notificationId),
    );
  }

  list(me: string, limit: number, before: string | null, unreadOnly: boolean): Promise<NotificationRecord[]> {
    return this.store.list(me, limit, before, unreadOnly);
  }

  /** Marks the named notifications read (ids that cannot exist are ignored), and all up to a time. */
  markRead(me: string, ids: string[], upToMs: number | null): Promise<number> {
    const upTo = upToMs === null ? null : minIdAt(Math.min(Math.max(upToMs + 1, EPOCH_MS), Date.now() + 86_400_000));
    return this.store.markRead(me, [...new Set(ids.filter(isId))], upTo);
  }

  unreadCount(me: string): Promise<number> {
    return this.store.unreadCount(me);
  }

  private async notify(recipientId: string, cause: Cause, what: What, refList: string[], at?: number): Promise<void> {
    if (!isId(recipientId) || !isId(what.actorId) || recipientId === what.actorId) return;
    if (!isId(cause.eventId)) {
      this.log.warn({ eventId: cause.eventId }, "notification: an event without a valid id; skipped");
      return;
    }
    const n: NotificationRecord = {
      recipientId,
      notificationId: cause.eventId,
      kind: what.kind,
      actorId: what.actorId,
      postId: what.postId ?? "",
      commentId: what.commentId ?? "",
      createTime: at ?? this.timeOf(cause),
      read: false,
    };
    if (await this.store.add(n, refList)) this.live.publish(n);
  }

  private timeOf(cause: Cause): number {
    return cause.occurTime ? timestampMs(cause.occurTime) : idTime(cause.eventId);
  }
}
