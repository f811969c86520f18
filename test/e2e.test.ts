// The embedded mode end to end, over the wire: sign up and log in, follow and unfollow, post,
// timelines, the home feed filled by fan-out, delete, and a restart that loses nothing.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { FollowState } from "../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { newUser, rejectsWith, settle, startSystem, tempDir } from "./harness.js";

describe("embedded mode end to end", () => {
  const data = tempDir();
  after(() => data.cleanup());
  const env = { FEEDMESH_STORE: "sqlite", FEEDMESH_DATA_DIR: data.dir };

  it("follows, posts, reads the feed, survives a restart, deletes", async () => {
    let s = await startSystem(env);
    const alice = await newUser(s.grpc, "alice");
    const bob = await newUser(s.grpc, "bob");

    // Login gives a working token too.
    const login = await s.grpc.identity.login({ login: alice.username, password: alice.password });
    assert.equal(login.user?.userId, alice.id);

    // Follow is idempotent.
    const f1 = await s.grpc.graph.follow({ userId: alice.id }, bob.opts);
    const f2 = await s.grpc.graph.follow({ userId: alice.id }, bob.opts);
    assert.equal(f1.relationship?.outgoing, FollowState.FOLLOWING);
    assert.equal(f2.relationship?.outgoing, FollowState.FOLLOWING);
    assert.equal((await s.grpc.graph.getFollowStats({ userId: alice.id }, bob.opts)).followerCount, 1n);

    const created = await s.grpc.post.createPost({ caption: "First light over the #harbour with @bob" }, alice.opts);
    const post = created.post!;
    assert.equal(post.authorId, alice.id);
    assert.deepEqual(post.hashtags, ["harbour"]);

    const timeline = await s.grpc.post.listUserPosts({ userId: alice.id }, bob.opts);
    assert.deepEqual(
      timeline.posts.map((p) => p.postId),
      [post.postId],
    );

    await settle(s);
    let feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [post.postId],
    );
    assert.equal(feed.items[0]?.author?.username, alice.username);

    // Restart: stop the process and start a new one on the same data directory.
    await s.stop();
    s = await startSystem(env);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts); // the old token is still valid
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [post.postId],
    );
    assert.equal((await s.grpc.graph.getRelationship({ userId: alice.id }, bob.opts)).relationship?.outgoing, FollowState.FOLLOWING);

    // A post created after the restart reaches the feed as well.
    const second = (await s.grpc.post.createPost({ caption: "second" }, alice.opts)).post!;
    await settle(s);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [second.postId, post.postId],
    );

    // Delete: the post leaves the feed (and the timeline); a second delete is fine.
    await s.grpc.post.deletePost({ postId: post.postId }, alice.opts);
    await s.grpc.post.deletePost({ postId: post.postId }, alice.opts);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [second.postId],
    );
    await settle(s);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [second.postId],
    );

    // Unfollow (idempotent) removes the followee's posts from the feed.
    await s.grpc.graph.unfollow({ userId: alice.id }, bob.opts);
    await s.grpc.graph.unfollow({ userId: alice.id }, bob.opts);
    await settle(s);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(feed.items, []);
    assert.equal((await s.grpc.graph.getFollowStats({ userId: alice.id }, bob.opts)).followerCount, 0n);

    // Following again backfills recent posts.
    await s.grpc.graph.follow({ userId: alice.id }, bob.opts);
    await settle(s);
    feed = await s.grpc.feed.getHomeFeed({}, bob.opts);
    assert.deepEqual(
      feed.items.map((i) => i.post?.postId),
      [second.postId],
    );
    await s.stop();
  });

  it("delivers events written before a crash once the process is back", async () => {
    const crash = tempDir();
    const env2 = { FEEDMESH_STORE: "sqlite", FEEDMESH_DATA_DIR: crash.dir };
    try {
      let s = await startSystem(env2);
      const author = await newUser(s.grpc, "author");
      const reader = await newUser(s.grpc, "reader");
      await s.grpc.graph.follow({ userId: author.id }, reader.opts);
      await settle(s);
      // The fan-out stops (as if the process died right after acknowledging the post).
      await s.app.backends.bus.stop();
      const post = (await s.grpc.post.createPost({ caption: "acknowledged, not yet fanned out" }, author.opts)).post!;
      assert.deepEqual((await s.grpc.feed.getHomeFeed({}, reader.opts)).items, []);
      await s.stop();
      s = await startSystem(env2);
      await settle(s);
      const feed = await s.grpc.feed.getHomeFeed({}, reader.opts);
      assert.deepEqual(
        feed.items.map((i) => i.post?.postId),
        [post.postId],
      );
      await s.stop();
    } finally {
      crash.cleanup();
    }
  });

  it("keeps paging past long runs of hidden entries, and reaches older content", async () => {
    const s = await startSystem();
    try {
      const reader = await newUser(s.grpc, "reader");
      const [old, gone] = [await newUser(s.grpc, "old"), await newUser(s.grpc, "gone")];
      await s.grpc.graph.follow({ userId: old.id }, reader.opts);
      await s.grpc.graph.follow({ userId: gone.id }, reader.opts);
      const kept = (await s.grpc.post.createPost({ caption: "older, still followed" }, old.opts)).post!.postId;
      for (let i = 0; i < 120; i++) await s.grpc.post.createPost({ caption: `hidden ${i}` }, gone.opts);
      await settle(s);
      await s.app.backends.bus.stop(); // the unfollow's cleanup stays in flight: 120 entries to skip
      await s.grpc.graph.unfollow({ userId: gone.id }, reader.opts);
      const seen: string[] = [];
      let pageToken = "";
      let calls = 0;
      do {
        const page = await s.grpc.feed.getHomeFeed({ pageSize: 1, pageToken }, reader.opts);
        seen.push(...page.items.map((i) => i.post!.postId));
        pageToken = page.nextPageToken;
      } while (pageToken && ++calls < 50);
      assert.deepEqual(seen, [kept]);
    } finally {
      await s.stop();
    }
  });

  it("pages the feed newest first, disjoint and complete while posts arrive", async () => {
    const s = await startSystem();
    try {
      const reader = await newUser(s.grpc, "reader");
      const authors = [await newUser(s.grpc, "a"), await newUser(s.grpc, "b")];
      for (const a of authors) await s.grpc.graph.follow({ userId: a.id }, reader.opts);
      const made: string[] = [];
      for (let i = 0; i < 25; i++) {
        made.push((await s.grpc.post.createPost({ caption: `post ${i}` }, authors[i % 2]!.opts)).post!.postId);
      }
      await settle(s);
      const seen: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const page = await s.grpc.feed.getHomeFeed({ pageSize: 7, pageToken: token }, reader.opts);
        seen.push(...page.items.map((i) => i.post!.postId));
        token = page.nextPageToken;
        pages++;
        // New posts arrive while paging: they must not leak into older pages.
        await s.grpc.post.createPost({ caption: `late ${pages}` }, authors[0]!.opts);
        await settle(s);
      } while (token !== "");
      assert.equal(pages, 4);
      assert.deepEqual(seen, [...made].reverse());
    } finally {
      await s.stop();
    }
  });

  it("merges several authors' timelines newest first, page by page, leaving out hidden authors", async () => {
    const s = await startSystem();
    try {
      const [reader, a, b, hidden] = [
        await newUser(s.grpc, "reader"),
        await newUser(s.grpc, "a"),
        await newUser(s.grpc, "b"),
        await newUser(s.grpc, "hidden"),
      ];
      await s.grpc.graph.updatePrivacySettings({ settings: { private: true } }, hidden.opts);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        for (const u of [a, b, hidden]) {
          const id = (await s.grpc.post.createPost({ caption: `${u.username} ${i}` }, u.opts)).post!.postId;
          if (u !== hidden) ids.unshift(id); // newest first
        }
      }
      const userIds = [a.id, b.id, hidden.id];
      const first = await s.grpc.post.listPostsByAuthors({ userIds, pageSize: 4 }, reader.opts);
      assert.deepEqual(
        first.posts.map((p) => p.postId),
        ids.slice(0, 4),
      );
      const rest = await s.grpc.post.listPostsByAuthors({ userIds, pageSize: 100, beforePostId: first.posts.at(-1)!.postId }, reader.opts);
      assert.deepEqual(
        rest.posts.map((p) => p.postId),
        ids.slice(4),
      );
      // The private author's own posts are there for the author.
      const own = await s.grpc.post.listPostsByAuthors({ userIds: [hidden.id], pageSize: 2 }, hidden.opts);
      assert.equal(own.posts.length, 2);
      // A new post shows at once (the timeline heads this process reuses are dropped by it).
      const newest = (await s.grpc.post.createPost({ caption: "newest" }, b.opts)).post!.postId;
      assert.equal((await s.grpc.post.listPostsByAuthors({ userIds, pageSize: 1 }, reader.opts)).posts[0]?.postId, newest);
      await s.grpc.post.deletePost({ postId: newest }, b.opts);
      assert.equal((await s.grpc.post.listPostsByAuthors({ userIds, pageSize: 1 }, reader.opts)).posts[0]?.postId, ids[0]);
      await rejectsWith(s.grpc.post.listPostsByAuthors({ userIds: [] }, reader.opts), Code.InvalidArgument, "user_ids");
      await rejectsWith(s.grpc.post.listPostsByAuthors({ userIds: ["x"] }, reader.opts), Code.InvalidArgument, "user_ids[0]");
    } finally {
      await s.stop();
    }
  });
});
