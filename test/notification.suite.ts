// Notifications end to end: follows, requests, mentions, likes and comments (engagement events
// published here through the outbox, as the engagement service does), the inbox's pages, read
// state and counts, isolation between users, and the live stream. The same suite runs on the
// embedded backends (notification.test.ts) and on Cassandra and Kafka (notifsearch.real.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Notification, NotificationKind } from "../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { type EncodedEvent, encodeEvent } from "../services/platform/events.js";
import { ids } from "../services/platform/ids.js";
import { eventually, newUser, rejectsWith, settle, startSystem, type TestSystem } from "./harness.js";

type User = Awaited<ReturnType<typeof newUser>>;

/** Publishes an event as a service would: through the outbox (relayed to Kafka on the real backends). */
export async function publish(s: TestSystem, e: EncodedEvent): Promise<void> {
  const store = s.app.backends.store;
  if (store.kind === "sqlite") store.db.appendEvent(e.topic, e.key, e.payload, e.headers);
  else await store.db.batch([store.db.outbox("post", e)]); // the post module's outbox is relayed
}

export function notificationSuite(name: string, env: Record<string, string>): void {
  describe(`notifications (${name})`, () => {
    let s: TestSystem;
    before(async () => {
      s = await startSystem(env);
    });
    after(() => s.stop());

    const inbox = async (u: User) => (await s.grpc.notification.listNotifications({ pageSize: 100 }, u.opts)).notifications;
    const summary = (list: Notification[]) => list.map((n) => `${NotificationKind[n.kind]} ${n.actorId} ${n.postId}`);

    it("notifies a follow and a follow request to the account followed, and nobody else", async () => {
      const c = s.grpc;
      const [alice, bob, carol] = [await newUser(c, "alice"), await newUser(c, "bob"), await newUser(c, "carol")];
      await c.graph.updatePrivacySettings({ settings: { private: true } }, carol.opts);
      await c.graph.follow({ userId: alice.id }, bob.opts);
      await c.graph.follow({ userId: carol.id }, bob.opts);
      await settle(s);
      await eventually(async () => assert.deepEqual(summary(await inbox(alice)), [`FOLLOWED ${bob.id} `]));
      await eventually(async () => assert.deepEqual(summary(await inbox(carol)), [`FOLLOW_REQUESTED ${bob.id} `]));
      assert.deepEqual(await inbox(bob), [], "no notification of one's own action");

      // A user only ever sees, counts and marks their own inbox.
      const [carols] = await inbox(carol);
      assert.equal((await c.notification.markRead({ notificationIds: [carols!.notificationId] }, alice.opts)).unreadCount, 1n);
      assert.equal((await c.notification.getUnreadCount({}, carol.opts)).unreadCount, 1n);
      await rejectsWith(c.notification.listNotifications({}), Code.Unauthenticated);
      const token = (await c.notification.listNotifications({ pageSize: 1 }, carol.opts)).nextPageToken;
      assert.equal(token, "");
      const more = await newUser(c, "dan");
      await c.graph.follow({ userId: carol.id }, more.opts);
      await settle(s);
      await eventually(async () => assert.equal((await inbox(carol)).length, 2));
      const carolsToken = (await c.notification.listNotifications({ pageSize: 1 }, carol.opts)).nextPageToken;
      assert.notEqual(carolsToken, "");
      await rejectsWith(
        c.notification.listNotifications({ pageSize: 1, pageToken: carolsToken }, alice.opts),
        Code.InvalidArgument,
        "page_token",
      );
    });

    it("notifies mentioned users once, resolving usernames, but not the author", async () => {
      const c = s.grpc;
      const [author, bob, cid] = [await newUser(c, "author"), await newUser(c, "bob"), await newUser(c, "cid")];
      const post = (
        await c.post.createPost({ caption: `hi @${bob.username} @${cid.username} @${author.username} @nobody_here_x` }, author.opts)
      ).post!;
      await settle(s);
      for (const u of [bob, cid])
        await eventually(async () => assert.deepEqual(summary(await inbox(u)), [`MENTIONED ${author.id} ${post.postId}`]));
      assert.deepEqual(await inbox(author), []);
      // Deleting the post takes its mentions back.
      await c.post.deletePost({ postId: post.postId }, author.opts);
      await settle(s);
      await eventually(async () => assert.deepEqual(await inbox(bob), []));
      assert.equal((await c.notification.getUnreadCount({}, bob.opts)).unreadCount, 0n);
    });

    it("notifies likes and comments from engagement events, once each, and takes them back", async () => {
      const c = s.grpc;
      const [author, fan] = [await newUser(c, "author"), await newUser(c, "fan")];
      const postId = (await c.post.createPost({ caption: "likeable" }, author.opts)).post!.postId;
      const liked = encodeEvent("engagement", postId, {
        event: { case: "liked", value: { postId, postAuthorId: author.id, userId: fan.id, likeCount: 1n } },
      });
      const commentId = ids.next(); // unique: the real backends' keyspace is shared across runs
      const commented = encodeEvent("engagement", postId, {
        event: { case: "commented", value: { commentId, postId, postAuthorId: author.id, authorId: fan.id, text: "nice" } },
      });
      const ownLike = encodeEvent("engagement", postId, {
        event: { case: "liked", value: { postId, postAuthorId: author.id, userId: author.id, likeCount: 2n } },
      });
      for (const e of [liked, liked, commented, ownLike]) await publish(s, e); // the like is delivered twice
      await settle(s);
      await eventually(async () =>
        assert.deepEqual(summary(await inbox(author)), [`COMMENTED ${fan.id} ${postId}`, `LIKED ${fan.id} ${postId}`]),
      );
      assert.equal((await inbox(author))[0]!.commentId, commentId);
      assert.equal((await c.notification.getUnreadCount({}, author.opts)).unreadCount, 2n);

      await publish(
        s,
        encodeEvent("engagement", postId, { event: { case: "unliked", value: { postId, postAuthorId: author.id, userId: fan.id } } }),
      );
      await settle(s);
      await eventually(async () => assert.deepEqual(summary(await inbox(author)), [`COMMENTED ${fan.id} ${postId}`]));
      await publish(s, encodeEvent("engagement", postId, { event: { case: "commentDeleted", value: { commentId, postId } } }));
      await settle(s);
      await eventually(async () => assert.deepEqual(await inbox(author), []));
      assert.equal((await c.notification.getUnreadCount({}, author.opts)).unreadCount, 0n);
    });

    it("lists newest first in pages, marks read by id and up to a time, counts unread exactly", async () => {
      const c = s.grpc;
      const star = await newUser(c, "star");
      const fans: User[] = [];
      for (let i = 0; i < 5; i++) {
        const f = await newUser(c, "f");
        await c.graph.follow({ userId: star.id }, f.opts);
        fans.push(f);
        await settle(s); // one after the other, so that their order is known
      }
      await eventually(async () => assert.equal((await inbox(star)).length, 5));
      const seen: Notification[] = [];
      let pageToken = "";
      do {
        const page = await c.notification.listNotifications({ pageSize: 2, pageToken }, star.opts);
        seen.push(...page.notifications);
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(
        seen.map((n) => n.actorId),
        fans.map((f) => f.id).reverse(),
      );
      assert.equal((await c.notification.getUnreadCount({}, star.opts)).unreadCount, 5n);

      assert.equal((await c.notification.markRead({ notificationIds: [seen[0]!.notificationId] }, star.opts)).unreadCount, 4n);
      const upToTime = timestampFromMs(timestampMs(seen[2]!.createTime!));
      assert.equal((await c.notification.markRead({ upToTime }, star.opts)).unreadCount, 1n, "the three oldest, up to and including");
      const unread = await c.notification.listNotifications({ unreadOnly: true }, star.opts);
      assert.deepEqual(
        unread.notifications.map((n) => n.notificationId),
        [seen[1]!.notificationId],
      );
      assert.deepEqual(
        (await inbox(star)).map((n) => n.read),
        [true, false, true, true, true],
      );

      await rejectsWith(
        c.notification.markRead({ notificationIds: ["not-an-id"] }, star.opts),
        Code.InvalidArgument,
        "notification_ids[0]",
      );
      await rejectsWith(c.notification.listNotifications({ pageSize: 101 }, star.opts), Code.InvalidArgument, "page_size");
      await rejectsWith(c.notification.listNotifications({ pageToken: "forged.token" }, star.opts), Code.InvalidArgument, "page_token");
      await rejectsWith(
        c.notification.markRead({ notificationIds: ["99999999999999999999"] }, star.opts),
        Code.InvalidArgument,
        "notification_ids[0]",
      );
      assert.equal(
        (await c.notification.markRead({ notificationIds: ["8999999999999999999"] }, star.opts)).unreadCount,
        1n,
        "an unknown id: a no-op",
      );
    });

    it("streams a notification stored while connected to its recipient only, and ends when cancelled", async () => {
      const c = s.grpc;
      const [star, other] = [await newUser(c, "star"), await newUser(c, "other")];
      const listen = (u: User) => {
        const ctrl = new AbortController();
        const got: Notification[] = [];
        const done = (async () => {
          try {
            for await (const res of c.notification.streamNotifications({}, { ...u.opts, signal: ctrl.signal })) got.push(res.notification!);
          } catch (err) {
            if (ConnectError.from(err).code !== Code.Canceled) throw err;
          }
        })();
        return { got, stop: () => ctrl.abort(), done };
      };
      const starStream = listen(star);
      const otherStream = listen(other);
      try {
        // The stream is registered asynchronously: follow again (a new follower) until one arrives.
        const followers: string[] = [];
        await eventually(async () => {
          if (starStream.got.length === 0) {
            const f = await newUser(c, "fan");
            await c.graph.follow({ userId: star.id }, f.opts);
            followers.push(f.id);
            await settle(s);
            await new Promise((r) => setTimeout(r, 300));
          }
          assert.ok(starStream.got.length > 0);
        }, 30_000);
        const n = starStream.got[0]!;
        assert.equal(n.kind, NotificationKind.FOLLOWED);
        assert.ok(followers.includes(n.actorId));
        assert.equal(n.read, false);
        assert.equal(otherStream.got.length, 0, "nobody else's stream sees it");
      } finally {
        starStream.stop();
        otherStream.stop();
      }
      await Promise.all([starStream.done, otherStream.done]);
    });
  });
}
