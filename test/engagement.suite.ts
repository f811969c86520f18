// Likes, comments and counters end to end, over the wire: idempotent likes, exact counts under
// concurrency, comment permissions, private posts, the acting user from the token, bad input,
// events with the post's author, and counters in the home feed. The same suite runs on the
// embedded backends (engagement.test.ts) and on Cassandra, Kafka and Redis (engagement.real.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import type { EngagementEvent } from "../gen/ts/feedmesh/events/v1/events_pb.js";
import { openEngagementStore } from "../services/engagement/index.js";
import { MODULES } from "../services/modules.js";
import { eventually, newUser, rejectsWith, settle, startSystem, type TestSystem } from "./harness.js";

type User = Awaited<ReturnType<typeof newUser>>;

export function engagementSuite(name: string, env: Record<string, string>): void {
  describe(`likes, comments and counters (${name})`, () => {
    let s: TestSystem;
    /** Every engagement event, as a consumer of the "engagement" topic sees it. */
    const events: EngagementEvent[] = [];
    before(async () => {
      s = await startSystem(env, {
        ...MODULES,
        notification: (rt) => {
          rt.bus.subscribe("engagement-test-observer", "engagement", async ({ event }) => {
            events.push(event);
          });
          return MODULES.notification(rt);
        },
      });
    });
    after(() => s.stop());
    const eventsOf = (postId: string) =>
      events.flatMap((e) => (e.event.value && "postId" in e.event.value && e.event.value.postId === postId ? [e.event] : []));
    const post = async (u: User, caption = "a post") => (await s.grpc.post.createPost({ caption }, u.opts)).post!.postId;

    it("likes once per user, unlikes idempotently, lists likers and publishes with the post's author", async () => {
      const c = s.grpc;
      const [alice, bob, carol, dave] = [
        await newUser(c, "alice"),
        await newUser(c, "bob"),
        await newUser(c, "carol"),
        await newUser(c, "dave"),
      ];
      const [p, quiet] = [await post(alice), await post(alice)];
      for (let i = 0; i < 2; i++) {
        const { counters } = await c.engagement.like({ postId: p }, bob.opts);
        assert.deepEqual([counters?.likeCount, counters?.likedByCaller], [1n, true]);
      }
      assert.equal((await c.engagement.like({ postId: p }, carol.opts)).counters?.likeCount, 2n);
      const asBob = await c.engagement.batchGetPostCounters({ postIds: [quiet, p, quiet] }, bob.opts);
      assert.deepEqual(
        asBob.counters.map((x) => [x.postId, x.likeCount, x.commentCount, x.likedByCaller]),
        [
          [quiet, 0n, 0n, false],
          [p, 2n, 0n, true],
          [quiet, 0n, 0n, false],
        ],
      );
      assert.equal((await c.engagement.batchGetPostCounters({ postIds: [p] }, alice.opts)).counters[0]?.likedByCaller, false);
      assert.deepEqual(
        (await c.engagement.listLikers({ postId: p }, alice.opts)).likers.map((l) => l.userId),
        [carol.id, bob.id],
      );
      for (let i = 0; i < 2; i++) {
        const { counters } = await c.engagement.unlike({ postId: p }, bob.opts);
        assert.deepEqual([counters?.likeCount, counters?.likedByCaller], [1n, false]);
      }
      assert.equal(
        (await c.engagement.unlike({ postId: p }, dave.opts)).counters?.likeCount,
        1n,
        "unliking what one never liked is a no-op",
      );
      await settle(s);
      await eventually(async () => {
        const seen = eventsOf(p).map((e) => [e.case, e.value && "userId" in e.value ? e.value.userId : ""]);
        assert.deepEqual(seen, [
          ["liked", bob.id],
          ["liked", carol.id],
          ["unliked", bob.id],
        ]);
      });
      for (const e of eventsOf(p)) {
        assert.ok(e.case === "liked" || e.case === "unliked");
        assert.equal(e.value.postAuthorId, alice.id);
      }
    });

    it("counts fifty users liking one post at once exactly", async () => {
      const c = s.grpc;
      const author = await newUser(c, "author");
      const p = await post(author);
      // signed up one after another: fifty password hashes at once can outlast a call's deadline
      // on a busy two-core machine, and the likes are what this test is about
      const fans: Awaited<ReturnType<typeof newUser>>[] = [];
      for (let i = 0; i < 50; i++) fans.push(await newUser(c, "fan"));
      // Each fan likes twice at once: a hundred concurrent calls.
      await Promise.all([...fans, ...fans].map((f) => c.engagement.like({ postId: p }, f.opts)));
      const [counters] = (await c.engagement.batchGetPostCounters({ postIds: [p] }, author.opts)).counters;
      assert.equal(counters?.likeCount, 50n);
      const likers: string[] = [];
      let pageToken = "";
      do {
        const page = await c.engagement.listLikers({ postId: p, pageSize: 20, pageToken }, author.opts);
        likers.push(...page.likers.map((l) => l.userId));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.equal(likers.length, 50);
      assert.deepEqual(new Set(likers), new Set(fans.map((f) => f.id)));
    });

    it("adds, lists and deletes comments: the comment's author and the post's author may delete, nobody else", async () => {
      const c = s.grpc;
      const [alice, bob, carol, dave] = [
        await newUser(c, "alice"),
        await newUser(c, "bob"),
        await newUser(c, "carol"),
        await newUser(c, "dave"),
      ];
      const p = await post(alice);
      const b1 = (await c.engagement.addComment({ postId: p, text: "  first!  " }, bob.opts)).comment!;
      assert.deepEqual([b1.text, b1.authorId, b1.postId], ["first!", bob.id, p]);
      const c1 = (await c.engagement.addComment({ postId: p, text: "second" }, carol.opts)).comment!;
      const b2 = (await c.engagement.addComment({ postId: p, text: "third", requestId: "r-1" }, bob.opts)).comment!;
      const retry = (await c.engagement.addComment({ postId: p, text: "third", requestId: "r-1" }, bob.opts)).comment!;
      assert.equal(retry.commentId, b2.commentId, "a retried request adds nothing");

      const listed: string[] = [];
      let pageToken = "";
      do {
        const page = await c.engagement.listComments({ postId: p, pageSize: 2, pageToken }, dave.opts);
        listed.push(...page.comments.map((x) => x.commentId));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(listed, [b1.commentId, c1.commentId, b2.commentId], "oldest first");
      const count = async () => (await c.engagement.batchGetPostCounters({ postIds: [p] }, dave.opts)).counters[0]?.commentCount;
      assert.equal(await count(), 3n);

      await rejectsWith(c.engagement.deleteComment({ postId: p, commentId: c1.commentId }, dave.opts), Code.PermissionDenied);
      await rejectsWith(c.engagement.deleteComment({ postId: p, commentId: b1.commentId }, carol.opts), Code.PermissionDenied);
      await c.engagement.deleteComment({ postId: p, commentId: b1.commentId }, bob.opts);
      await c.engagement.deleteComment({ postId: p, commentId: b1.commentId }, bob.opts); // idempotent
      await c.engagement.deleteComment({ postId: p, commentId: c1.commentId }, alice.opts); // the post's author
      await rejectsWith(c.engagement.deleteComment({ postId: p, commentId: "12345" }, alice.opts), Code.NotFound);
      assert.deepEqual(
        (await c.engagement.listComments({ postId: p }, dave.opts)).comments.map((x) => x.text),
        ["third"],
      );
      assert.equal(await count(), 1n);
      await settle(s);
      await eventually(async () => {
        const seen = eventsOf(p);
        assert.deepEqual(
          seen.map((e) => e.case),
          ["commented", "commented", "commented", "commentDeleted", "commentDeleted"],
        );
        const first = seen[0]!;
        assert.ok(first.case === "commented");
        assert.deepEqual([first.value.postAuthorId, first.value.authorId, first.value.text], [alice.id, bob.id, "first!"]);
      });
      // A page token is bound to its post.
      const other = await post(alice);
      await c.engagement.addComment({ postId: p, text: "more" }, dave.opts);
      const { nextPageToken } = await c.engagement.listComments({ postId: p, pageSize: 1 }, dave.opts);
      await rejectsWith(
        c.engagement.listComments({ postId: other, pageToken: nextPageToken }, dave.opts),
        Code.InvalidArgument,
        "page_token",
      );
    });

    it("hides a private account's posts from non-followers: NOT_FOUND, like a post that does not exist", async () => {
      const c = s.grpc;
      const [owner, fan, stranger] = [await newUser(c, "owner"), await newUser(c, "fan"), await newUser(c, "stranger")];
      await c.graph.updatePrivacySettings({ settings: { private: true } }, owner.opts);
      await c.graph.follow({ userId: owner.id }, fan.opts);
      await c.graph.approveFollowRequest({ userId: fan.id }, owner.opts);
      await settle(s); // the post service learns the account's privacy from the graph's events
      const p = await post(owner, "for my followers");
      await c.engagement.like({ postId: p }, fan.opts);
      const comment = (await c.engagement.addComment({ postId: p, text: "nice" }, fan.opts)).comment!;

      const missing = "4242424242";
      for (const postId of [p, missing]) {
        const err = await rejectsWith(c.engagement.like({ postId }, stranger.opts), Code.NotFound);
        assert.equal(err.rawMessage, `post ${postId} not found`, "the same answer as for a post that does not exist");
        await rejectsWith(c.engagement.unlike({ postId }, stranger.opts), Code.NotFound);
        await rejectsWith(c.engagement.addComment({ postId, text: "hi" }, stranger.opts), Code.NotFound);
        await rejectsWith(c.engagement.listComments({ postId }, stranger.opts), Code.NotFound);
        await rejectsWith(c.engagement.listLikers({ postId }, stranger.opts), Code.NotFound);
        await rejectsWith(c.engagement.deleteComment({ postId, commentId: comment.commentId }, stranger.opts), Code.NotFound);
      }
      assert.deepEqual(
        (await c.engagement.batchGetPostCounters({ postIds: [p] }, stranger.opts)).counters.map((x) => [x.likeCount, x.commentCount]),
        [[0n, 0n]],
        "no counters of a hidden post",
      );
      assert.deepEqual(
        (await c.engagement.batchGetPostCounters({ postIds: [p] }, fan.opts)).counters.map((x) => [
          x.likeCount,
          x.commentCount,
          x.likedByCaller,
        ]),
        [[1n, 1n, true]],
      );
      assert.equal((await c.engagement.listLikers({ postId: p }, owner.opts)).likers[0]?.userId, fan.id);
    });

    it("acts as the token's user only, and refuses bad input with field details", async () => {
      const c = s.grpc;
      const [alice, bob] = [await newUser(c, "alice"), await newUser(c, "bob")];
      const p = await post(alice);
      // A user id in the request is not a field of the contract: over JSON it is refused, not obeyed.
      const forged = await fetch(`${s.httpUrl}/feedmesh.engagement.v1.EngagementService/Like`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ postId: p, userId: bob.id }),
      });
      assert.equal(forged.status, 400);
      await rejectsWith(c.engagement.like({ postId: p }), Code.Unauthenticated);
      await c.engagement.like({ postId: p }, alice.opts);
      assert.deepEqual(
        (await c.engagement.listLikers({ postId: p }, bob.opts)).likers.map((l) => l.userId),
        [alice.id],
      );

      await rejectsWith(c.engagement.like({ postId: "abc" }, bob.opts), Code.InvalidArgument, "post_id");
      await rejectsWith(c.engagement.like({ postId: "" }, bob.opts), Code.InvalidArgument, "post_id");
      await rejectsWith(c.engagement.addComment({ postId: p, text: "" }, bob.opts), Code.InvalidArgument, "text");
      await rejectsWith(c.engagement.addComment({ postId: p, text: "   " }, bob.opts), Code.InvalidArgument, "text");
      await rejectsWith(c.engagement.addComment({ postId: p, text: "x".repeat(2201) }, bob.opts), Code.InvalidArgument, "text");
      await rejectsWith(
        c.engagement.addComment({ postId: p, text: "ok", requestId: "no spaces" }, bob.opts),
        Code.InvalidArgument,
        "request_id",
      );
      await rejectsWith(c.engagement.deleteComment({ postId: p, commentId: "x" }, bob.opts), Code.InvalidArgument, "comment_id");
      await rejectsWith(c.engagement.listComments({ postId: p, pageSize: 101 }, bob.opts), Code.InvalidArgument, "page_size");
      await rejectsWith(c.engagement.listLikers({ postId: p, pageToken: "forged.token" }, bob.opts), Code.InvalidArgument, "page_token");
      await rejectsWith(c.engagement.batchGetPostCounters({ postIds: [] }, bob.opts), Code.InvalidArgument, "post_ids");
      await rejectsWith(
        c.engagement.batchGetPostCounters({ postIds: Array.from({ length: 101 }, (_, i) => String(i + 1)) }, bob.opts),
        Code.InvalidArgument,
        "post_ids",
      );
      await rejectsWith(c.engagement.batchGetPostCounters({ postIds: [p, "nope"] }, bob.opts), Code.InvalidArgument, "post_ids[1]");
    });

    it("stops serving a deleted post's counters and drops its engagement", async () => {
      const c = s.grpc;
      const [alice, bob] = [await newUser(c, "alice"), await newUser(c, "bob")];
      const p = await post(alice);
      await c.engagement.like({ postId: p }, bob.opts);
      await c.engagement.addComment({ postId: p, text: "hi" }, bob.opts);
      await c.post.deletePost({ postId: p }, alice.opts);
      assert.deepEqual(
        (await c.engagement.batchGetPostCounters({ postIds: [p] }, bob.opts)).counters.map((x) => [
          x.likeCount,
          x.commentCount,
          x.likedByCaller,
        ]),
        [[0n, 0n, false]],
      );
      await rejectsWith(c.engagement.like({ postId: p }, bob.opts), Code.NotFound);
      await settle(s);
      const store = await openEngagementStore(s.app.runtime);
      await eventually(async () => assert.deepEqual(await store.counts([p], bob.id), [{ postId: p, likes: 0, comments: 0, liked: false }]));
    });

    it("puts each post's counters, and whether the reader liked it, in the home feed", async () => {
      const c = s.grpc;
      const [alice, bob, carol] = [await newUser(c, "alice"), await newUser(c, "bob"), await newUser(c, "carol")];
      await c.graph.follow({ userId: alice.id }, bob.opts);
      const [older, newer] = [await post(alice, "older"), await post(alice, "newer")];
      await c.engagement.like({ postId: older }, bob.opts);
      await c.engagement.like({ postId: older }, carol.opts);
      await c.engagement.addComment({ postId: older, text: "lovely" }, carol.opts);
      await c.engagement.like({ postId: newer }, carol.opts);
      await settle(s);
      const feed = await c.feed.getHomeFeed({}, bob.opts);
      assert.deepEqual(
        feed.items.map((i) => [
          i.post?.postId,
          i.counters?.postId,
          i.counters?.likeCount,
          i.counters?.commentCount,
          i.counters?.likedByCaller,
        ]),
        [
          [newer, newer, 1n, 0n, false],
          [older, older, 2n, 1n, true],
        ],
      );
    });
  });
}
