// The notification domain on the embedded store, fed by hand-made deliveries: a mention of an
// account whose creation event comes later, and the live stream of two processes sharing a store
// (one consumed the event, the other serves the stream).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotificationKind } from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { decodeEvent, encodeEvent, type Topic, type TopicEvent } from "../platform/events.js";
import { IdGenerator } from "../platform/ids.js";
import { createLogger } from "../platform/log.js";
import { EmbeddedDb } from "../platform/sqlite.js";
import { LiveInbox, RECENT } from "./live.js";
import { Notifications } from "./notifications.js";
import type { NotificationRecord } from "./store.js";
import { SqliteNotificationStore } from "./store.sqlite.js";

function delivery<T extends Topic>(topic: T, init: Parameters<typeof encodeEvent<T>>[2]) {
  const e = encodeEvent(topic, "k", init);
  return { topic, key: "k", event: decodeEvent(topic, e.payload) as TopicEvent<T>, headers: {} };
}

function setup(pollMs = 50) {
  const store = new SqliteNotificationStore(new EmbeddedDb(null));
  const live = new LiveInbox((id) => store.list(id, RECENT, null, false), pollMs);
  return { store, live, notifications: new Notifications(store, live, createLogger("silent")) };
}

describe("notifications", () => {
  const gen = new IdGenerator(21);

  it("holds a mention of an account not known yet, and delivers it when the account's event arrives", async () => {
    const { store, notifications } = setup();
    const [author, zed, late] = [gen.next(), gen.next(Date.now() - 60_000), gen.next(Date.now() + 60_000)];
    const post = delivery("posts", {
      event: { case: "created", value: { postId: gen.next(), authorId: author, mentions: ["zed", "late"] } },
    });
    await notifications.onPost(post);
    await notifications.onPost(post); // redelivered
    assert.deepEqual(await store.list(zed, 10, null, false), []);

    await notifications.onUser(delivery("users", { event: { case: "created", value: { userId: zed, username: "zed" } } }));
    const [n, ...more] = await store.list(zed, 10, null, false);
    assert.deepEqual(more, []);
    assert.equal(n?.kind, NotificationKind.MENTIONED);
    assert.equal(n?.actorId, author);
    assert.equal(n?.notificationId, post.event.eventId);
    assert.deepEqual(await store.heldMentions("zed"), []);
    // An account created after the post did not exist when it was mentioned: nothing for it.
    await notifications.onUser(delivery("users", { event: { case: "created", value: { userId: late, username: "late" } } }));
    assert.deepEqual(await store.list(late, 10, null, false), []);
  });

  it("streams what this process stored at once, and what another process stored by looking", async () => {
    const here = setup(60_000);
    const elsewhere = { notifications: new Notifications(here.store, setup().live, createLogger("silent")) }; // shares the store
    const star = gen.next();
    const follow = () =>
      delivery("follows", { event: { case: "followed", value: { followerId: gen.next(), followeeId: star, followeeFollowerCount: 1n } } });
    await here.notifications.onFollow(follow()); // before the stream: not new

    const slow = new LiveInbox((id) => here.store.list(id, RECENT, null, false), 50);
    const ctrl = new AbortController();
    const [fast, looking] = [here.live.watch(star, ctrl.signal), slow.watch(star, ctrl.signal)];
    const first = [fast.next(), looking.next()];
    await new Promise((r) => setTimeout(r, 20)); // both registered and past their first look
    const pushed = follow();
    await here.notifications.onFollow(pushed);
    const byOther = follow();
    await elsewhere.notifications.onFollow(byOther);

    const fastGot = (await first[0])!.value as NotificationRecord;
    assert.equal(fastGot.notificationId, pushed.event.eventId, "pushed by this process's consumer");
    const lookedUp = [
      ((await first[1])!.value as NotificationRecord).notificationId,
      ((await looking.next()).value as NotificationRecord).notificationId,
    ];
    assert.deepEqual(lookedUp.sort(), [pushed.event.eventId, byOther.event.eventId].sort(), "found by looking, each once");

    ctrl.abort();
    assert.equal((await fast.next()).done, true);
    assert.equal((await looking.next()).done, true);
  });
});
