// NotificationService handlers: proto in, domain call, proto out. The inbox is always the caller's.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type Notification,
  type NotificationKind,
  NotificationSchema,
  type NotificationService,
} from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { actingUser } from "../platform/auth.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { LiveInbox } from "./live.js";
import type { Notifications } from "./notifications.js";
import type { NotificationRecord } from "./store.js";

export function toNotification(n: NotificationRecord): Notification {
  return create(NotificationSchema, {
    notificationId: n.notificationId,
    kind: n.kind as NotificationKind,
    actorId: n.actorId,
    postId: n.postId,
    commentId: n.commentId,
    createTime: timestampFromMs(n.createTime),
    read: n.read,
  });
}

export function notificationRoutes(
  notifications: Notifications,
  live: LiveInbox,
  tokens: PageTokens,
): ServiceImpl<typeof NotificationService> {
  return {
    async listNotifications(req, ctx) {
      const me = actingUser(ctx);
      const scope = `notification.list:${me}:${req.unreadOnly}`;
      const limit = pageSize(req.pageSize, 20);
      const cursor = tokens.decode<{ n: string }>(scope, req.pageToken);
      const list = await notifications.list(me, limit + 1, cursor?.n ?? null, req.unreadOnly);
      const page = list.slice(0, limit);
      const last = page.at(-1);
      return {
        notifications: page.map(toNotification),
        nextPageToken: list.length > limit && last ? tokens.encode(scope, { n: last.notificationId }) : "",
      };
    },
    async markRead(req, ctx) {
      const upTo = req.upToTime ? timestampMs(req.upToTime) : null;
      return { unreadCount: BigInt(await notifications.markRead(actingUser(ctx), req.notificationIds, upTo)) };
    },
    async getUnreadCount(_req, ctx) {
      return { unreadCount: BigInt(await notifications.unreadCount(actingUser(ctx))) };
    },
    async *streamNotifications(_req, ctx) {
      for await (const n of live.watch(actingUser(ctx), ctx.signal)) yield { notification: toNotification(n) };
    },
  };
}
