// The EngagementStore contract, for every adapter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommentRecord, EngagementStore } from "../../services/engagement/store.js";
import { encodeEvent } from "../../services/platform/events.js";
import { IdGenerator } from "../../services/platform/ids.js";
import { inParallel } from "../../services/platform/parallel.js";

export function engagementStoreContract(name: string, open: () => Promise<EngagementStore>): void {
  describe(`EngagementStore contract: ${name}`, () => {
    const gen = new IdGenerator(17);
    /** An event builder that records the counts it was built with. */
    const recorder = () => {
      const seen: number[] = [];
      const event = (likeCount: number) => {
        seen.push(likeCount);
        return encodeEvent("engagement", "k", { event: { case: "liked", value: { postId: "1", likeCount: BigInt(likeCount) } } });
      };
      return { seen, event };
    };
    const commented = (c: CommentRecord) =>
      encodeEvent("engagement", c.postId, { event: { case: "commented", value: { commentId: c.commentId, postId: c.postId } } });
    const deleted = encodeEvent("engagement", "k", { event: { case: "commentDeleted", value: { commentId: "1", postId: "1" } } });
    const comment = (postId: string, authorId: string, text: string, at = Date.now()): CommentRecord => ({
      commentId: gen.next(at),
      postId,
      authorId,
      text,
      createTime: at,
      deleted: false,
    });

    it("counts a like once, removes it once, and ignores an unlike of nothing", async () => {
      const store = await open();
      const [post, user] = [gen.next(), gen.next()];
      const { seen, event } = recorder();
      assert.deepEqual(await store.unlike(post, user, event), { likes: 0, comments: 0 });
      assert.deepEqual(await store.like(post, user, Date.now(), event), { likes: 1, comments: 0 });
      assert.deepEqual(await store.like(post, user, Date.now(), event), { likes: 1, comments: 0 });
      assert.deepEqual(seen, [1], "one event for one change");
      assert.deepEqual(await store.counts([post], user), [{ postId: post, likes: 1, comments: 0, liked: true }]);
      assert.deepEqual(await store.unlike(post, user, event), { likes: 0, comments: 0 });
      assert.deepEqual(await store.unlike(post, user, event), { likes: 0, comments: 0 });
      assert.deepEqual(seen, [1, 0]);
      assert.deepEqual(await store.counts([post], user), [{ postId: post, likes: 0, comments: 0, liked: false }]);
      assert.deepEqual((await store.likers(post, 10, null)).likers, []);
    });

    it("stays exact under many concurrent likes and unlikes of one post", async () => {
      const store = await open();
      const post = gen.next();
      const users = Array.from({ length: 40 }, () => gen.next());
      const { seen, event } = recorder();
      // Every user likes twice at once; then ten unlike while the others like again and ten newcomers like.
      // (A request racing another of the same user may write the event twice: delivery is at least once.)
      await Promise.all([...users, ...users].map((u) => store.like(post, u, Date.now(), event)));
      assert.ok(seen.length >= 40, `an event for every like (${seen.length})`);
      seen.length = 0;
      const newcomers = Array.from({ length: 10 }, () => gen.next());
      await Promise.all([
        ...users.slice(0, 10).map((u) => store.unlike(post, u, event)),
        ...[...users.slice(10), ...newcomers].map((u) => store.like(post, u, Date.now(), event)),
      ]);
      assert.equal(seen.length, 20, "one event per change");
      const [counts] = await store.counts([post], users[0]!);
      assert.deepEqual(counts, { postId: post, likes: 40, comments: 0, liked: false });
      const listed = (await store.likers(post, 100, null)).likers.map((l) => l.userId);
      assert.deepEqual(new Set(listed), new Set([...users.slice(10), ...newcomers]));
      assert.equal(listed.length, 40);
      // Comments too: thirty at once, then ten deleted twice each, at once.
      const made = await Promise.all(
        Array.from({ length: 30 }, (_, i) => store.addComment(comment(post, users[i]!, `c${i}`), "", commented)),
      );
      await Promise.all([...made.slice(0, 10), ...made.slice(0, 10)].map((c) => store.deleteComment(post, c.commentId, deleted)));
      assert.deepEqual(await store.counts([post], null), [{ postId: post, likes: 40, comments: 20, liked: false }]);
      assert.equal((await store.comments(post, 100, null)).comments.length, 20);
    });

    it("lists likers most recent first, page by page; a like again moves to the top", async () => {
      const store = await open();
      const post = gen.next();
      const users = Array.from({ length: 7 }, () => gen.next());
      const { event } = recorder();
      const t = Date.now() - 60_000;
      for (const [i, u] of users.entries()) await store.like(post, u, t + i * 1000, event);
      const pages: string[][] = [];
      let cursor = null;
      do {
        const page = await store.likers(post, 3, cursor);
        pages.push(page.likers.map((l) => l.userId));
        cursor = page.next;
      } while (cursor);
      assert.deepEqual(pages, [users.slice(4).reverse(), users.slice(1, 4).reverse(), [users[0]]]);
      await store.unlike(post, users[0]!, event);
      await store.like(post, users[0]!, Date.now(), event);
      const first = await store.likers(post, 2, null);
      assert.deepEqual(
        first.likers.map((l) => l.userId),
        [users[0], users[6]],
      );
      assert.equal((await store.likers(post, 100, null)).likers.length, 7, "listed once");
    });

    it("adds comments once per request id, lists them oldest first, deletes them once", async () => {
      const store = await open();
      const [post, alice, bob] = [gen.next(), gen.next(), gen.next()];
      const events: string[] = [];
      const ev = (c: CommentRecord) => {
        events.push(c.commentId);
        return commented(c);
      };
      const t = Date.now() - 60_000;
      const made: CommentRecord[] = [];
      for (let i = 0; i < 5; i++) made.push(await store.addComment(comment(post, i % 2 ? bob : alice, `c${i}`, t + i * 1000), "", ev));
      const first = await store.addComment(comment(post, alice, "with id", t + 6000), "req-1", ev);
      const retry = await store.addComment(comment(post, alice, "with id", t + 7000), "req-1", ev);
      assert.equal(retry.commentId, first.commentId);
      assert.equal(retry.text, "with id");
      const other = await store.addComment(comment(post, bob, "same id, other author", t + 8000), "req-1", ev);
      assert.notEqual(other.commentId, first.commentId);
      assert.equal(events.length, 7);
      assert.equal((await store.counts([post], null))[0]?.comments, 7);

      const ids = [...made, first, other].map((c) => c.commentId);
      const page1 = await store.comments(post, 4, null);
      assert.deepEqual(
        page1.comments.map((c) => c.commentId),
        ids.slice(0, 4),
      );
      assert.deepEqual(page1.comments[1], made[1]);
      const page2 = await store.comments(post, 4, page1.next);
      assert.deepEqual(
        page2.comments.map((c) => c.commentId),
        ids.slice(4),
      );
      assert.equal(page2.next, null);

      await store.deleteComment(post, made[1]!.commentId, deleted);
      await store.deleteComment(post, made[1]!.commentId, deleted);
      assert.equal((await store.counts([post], null))[0]?.comments, 6, "a second delete changes nothing");
      const gone = await store.comment(post, made[1]!.commentId);
      assert.equal(gone?.deleted, true);
      assert.equal(gone?.text, "", "a deleted comment's text is not kept");
      assert.equal(gone?.authorId, bob);
      assert.equal(await store.comment(post, gen.next()), undefined);
      assert.equal(await store.comment(gen.next(), made[0]!.commentId), undefined, "a comment belongs to its post");
      assert.deepEqual(
        (await store.comments(post, 100, null)).comments.map((c) => c.commentId),
        ids.filter((_, i) => i !== 1),
      );
      await store.deleteComment(post, first.commentId, deleted);
      const again = await store.addComment(comment(post, alice, "with id", Date.now()), "req-1", ev);
      assert.equal(again.deleted, true, "a retry does not bring a deleted comment back");
      assert.equal((await store.counts([post], null))[0]?.comments, 5);
    });

    it("completes a change whose event could not be written when the request is retried", async () => {
      const store = await open();
      const [post, user] = [gen.next(), gen.next()];
      const seen: number[] = [];
      let fail = true;
      const event = (likeCount: number) => {
        if (fail) throw new Error("the outbox write failed");
        seen.push(likeCount);
        return encodeEvent("engagement", post, { event: { case: "liked", value: { postId: post, likeCount: BigInt(likeCount) } } });
      };
      await assert.rejects(store.like(post, user, Date.now(), event));
      fail = false;
      assert.deepEqual(await store.like(post, user, Date.now(), event), { likes: 1, comments: 0 });
      assert.deepEqual(seen, [1]);
      assert.deepEqual(
        (await store.likers(post, 10, null)).likers.map((l) => l.userId),
        [user],
      );
      await store.like(post, user, Date.now(), event);
      assert.deepEqual(seen, [1], "once completed, nothing more is written");
    });

    it("returns counters in the order asked, and forgets a dropped post", async () => {
      const store = await open();
      const [p1, p2, p3, me, other] = [gen.next(), gen.next(), gen.next(), gen.next(), gen.next()];
      const { event } = recorder();
      await store.like(p1, me, Date.now(), event);
      await store.like(p1, other, Date.now(), event);
      await store.like(p2, other, Date.now(), event);
      await store.addComment(comment(p2, me, "hi"), "", commented);
      assert.deepEqual(await store.counts([p3, p2, p1], me), [
        { postId: p3, likes: 0, comments: 0, liked: false },
        { postId: p2, likes: 1, comments: 1, liked: false },
        { postId: p1, likes: 2, comments: 0, liked: true },
      ]);
      assert.deepEqual(
        (await store.counts([p1], null)).map((c) => c.liked),
        [false],
      );
      await store.dropPost(p1);
      await store.dropPost(p2);
      assert.deepEqual(await store.counts([p1, p2], me), [
        { postId: p1, likes: 0, comments: 0, liked: false },
        { postId: p2, likes: 0, comments: 0, liked: false },
      ]);
      assert.deepEqual((await store.likers(p1, 10, null)).likers, []);
      assert.deepEqual((await store.comments(p2, 10, null)).comments, []);
    });

    it("counts a page of many posts at once (more than one query's worth), with the caller's likes", async () => {
      const store = await open();
      const posts = Array.from({ length: 15 }, () => gen.next());
      const [me, other] = [gen.next(), gen.next()];
      const { event } = recorder();
      await inParallel(
        posts.map((p, i) => [p, i] as const),
        8,
        async ([p, i]) => {
          for (let k = 0; k < i % 4; k++) await store.like(p, k === 0 && i % 3 === 0 ? me : gen.next(), Date.now(), event);
          if (i % 5 === 0) await store.like(p, other, Date.now(), event);
        },
      );
      const got = await store.counts([...posts, posts[0]!], me);
      assert.deepEqual(
        got,
        [...posts, posts[0]!].map((postId) => {
          const i = posts.indexOf(postId);
          return { postId, likes: (i % 4) + (i % 5 === 0 ? 1 : 0), comments: 0, liked: i % 4 > 0 && i % 3 === 0 };
        }),
      );
    });
  });
}
