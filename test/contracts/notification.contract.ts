// The NotificationStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NotificationRecord, NotificationStore } from "../../services/notification/store.js";
import { IdGenerator } from "../../services/platform/ids.js";

const DAY = 86_400_000;

export function notificationStoreContract(name: string, open: () => Promise<NotificationStore>): void {
  describe(`NotificationStore contract: ${name}`, () => {
    const gen = new IdGenerator(17);
    const note = (recipientId: string, at = Date.now(), over: Partial<NotificationRecord> = {}): NotificationRecord => ({
      recipientId,
      notificationId: gen.next(at),
      kind: 1,
      actorId: gen.next(),
      postId: "",
      commentId: "",
      createTime: at,
      read: false,
      ...over,
    });
    const ids = (list: NotificationRecord[]) => list.map((n) => n.notificationId);

    it("adds once per id, lists newest first in pages across months, keeps inboxes apart", async () => {
      const store = await open();
      const [alice, bob] = [gen.next(), gen.next()];
      const made = [40, 3, 2, 1, 0].map((daysAgo, i) =>
        note(alice, Date.now() - daysAgo * DAY, i === 1 ? { kind: 4, postId: gen.next(), commentId: gen.next() } : {}),
      );
      for (const n of made) assert.equal(await store.add(n, []), true);
      assert.equal(await store.add(made[0]!, []), false, "a redelivered event adds nothing");
      const other = note(bob);
      await store.add(other, []);

      const first = await store.list(alice, 3, null, false);
      const rest = await store.list(alice, 10, first.at(-1)!.notificationId, false);
      assert.deepEqual([...ids(first), ...ids(rest)], ids(made).reverse());
      assert.deepEqual(rest.at(-2), made[1], "every field round-trips");
      assert.deepEqual(await store.list(bob, 10, null, false), [other]);
    });

    it("counts unread exactly, marks read by id and up to an id, and a redelivery keeps the read state", async () => {
      const store = await open();
      const [me, someone] = [gen.next(), gen.next()];
      const made = [40, 3, 2, 1, 0].map((daysAgo) => note(me, Date.now() - daysAgo * DAY));
      for (const n of made) await store.add(n, []);
      const theirs = note(someone);
      await store.add(theirs, []);
      assert.equal(await store.unreadCount(me), 5);

      assert.equal(await store.markRead(me, [made[3]!.notificationId, theirs.notificationId], null), 4);
      assert.equal(await store.unreadCount(someone), 1, "marking someone else's id does nothing to their inbox");
      assert.equal(await store.markRead(me, [made[3]!.notificationId], null), 4, "idempotent");
      assert.deepEqual(ids(await store.list(me, 10, null, true)), ids([made[4]!, made[2]!, made[1]!, made[0]!]));

      assert.equal(await store.markRead(me, [], made[2]!.notificationId), 2, "up to an id (exclusive), across months");
      const listed = await store.list(me, 10, null, false);
      assert.deepEqual(
        listed.map((n) => n.read),
        [false, true, false, true, true],
      );
      assert.deepEqual(ids(await store.list(me, 1, made[4]!.notificationId, true)), [made[2]!.notificationId], "unread pages");

      assert.equal(await store.add(made[0]!, []), false);
      assert.equal(await store.unreadCount(me), 2, "a redelivered event does not make a read notification unread");
    });

    it("retracts by reference, and a closed reference turns later adds away", async () => {
      const store = await open();
      const me = gen.next();
      const [post, otherPost, liker] = [gen.next(), gen.next(), gen.next()];
      const like = note(me, Date.now(), { kind: 3, actorId: liker, postId: post });
      const comment = note(me, Date.now(), { kind: 4, postId: post, commentId: gen.next() });
      const elsewhere = note(me, Date.now(), { kind: 3, postId: otherPost });
      await store.add(like, [`like:${post}:${liker}`, `post:${post}`]);
      await store.add(comment, [`comment:${comment.commentId}`, `post:${post}`]);
      await store.add(elsewhere, [`post:${otherPost}`]);
      assert.equal(await store.unreadCount(me), 3);

      await store.retract(`like:${post}:${liker}`, false);
      assert.deepEqual(ids(await store.list(me, 10, null, false)), ids([elsewhere, comment]));
      await store.retract(`post:${post}`, true);
      assert.deepEqual(ids(await store.list(me, 10, null, false)), ids([elsewhere]));
      assert.equal(await store.unreadCount(me), 1);
      assert.equal(await store.add(note(me, Date.now(), { postId: post }), [`post:${post}`]), false, "closed: the post is gone");
      assert.equal(await store.add(note(me), [`post:${gen.next()}`]), true);
      await store.retract(`comment:${gen.next()}`, true); // nothing recorded under it: a no-op
      assert.equal(await store.unreadCount(me), 2);
    });

    it("keeps the username directory and mentions of unknown usernames", async () => {
      const store = await open();
      const [userId, name, nobody, pending] = [gen.next(), `u${gen.next()}`, `n${gen.next()}`, `p${gen.next()}`];
      await store.saveUser(userId, name);
      await store.saveUser(userId, name); // idempotent
      assert.deepEqual(await store.userIds([name, nobody]), new Map([[name, userId]]));
      const held = [0, 1].map(() => ({ notificationId: gen.next(), actorId: gen.next(), postId: gen.next(), createTime: Date.now() }));
      for (const m of held) await store.holdMention(pending, m);
      const found = await store.heldMentions(pending);
      assert.deepEqual(
        found.sort((a, b) => a.notificationId.localeCompare(b.notificationId)),
        held,
      );
      await store.releaseMentions(pending, [held[0]!.notificationId]);
      assert.deepEqual(await store.heldMentions(pending), [held[1]]);
      assert.deepEqual(await store.heldMentions(nobody), []);
    });
  });
}
