// Graph handlers through the in-memory router transport (no network): privacy and requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { newUser, settle, startSystem, type TestSystem } from "../../test/harness.js";

describe("graph: private accounts", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("turns follows into requests, hides lists and posts until approval", async () => {
    const c = s.app.runtime.clients; // in-process: Connect's router transport, same interceptors
    const owner = await newUser(c, "owner");
    const fan = await newUser(c, "fan");
    await c.graph.updatePrivacySettings({ settings: { private: true } }, owner.opts);
    await settle(s);
    const post = (await c.post.createPost({ caption: "for friends" }, owner.opts)).post!;

    const requested = await c.graph.follow({ userId: owner.id }, fan.opts);
    assert.equal(requested.relationship?.outgoing, FollowState.REQUESTED);
    assert.equal((await c.identity.getUser({ userId: owner.id }, fan.opts)).user?.private, true);
    const denied = (p: Promise<unknown>, code: Code) => assert.rejects(p, (e: unknown) => e instanceof ConnectError && e.code === code);
    await denied(c.graph.listFollowers({ userId: owner.id }, fan.opts), Code.PermissionDenied);
    await denied(c.post.listUserPosts({ userId: owner.id }, fan.opts), Code.PermissionDenied);
    await denied(c.post.getPost({ postId: post.postId }, fan.opts), Code.NotFound);
    assert.deepEqual((await c.post.batchGetPosts({ postIds: [post.postId] }, fan.opts)).posts, []);

    const requests = await c.graph.listFollowRequests({}, owner.opts);
    assert.deepEqual(
      requests.requests.map((r) => r.userId),
      [fan.id],
    );
    await c.graph.approveFollowRequest({ userId: fan.id }, owner.opts);
    assert.equal((await c.graph.getRelationship({ userId: owner.id }, fan.opts)).relationship?.outgoing, FollowState.FOLLOWING);
    assert.equal((await c.post.getPost({ postId: post.postId }, fan.opts)).post?.caption, "for friends");
    assert.deepEqual(
      (await c.graph.listFollowers({ userId: owner.id }, fan.opts)).followers.map((f) => f.userId),
      [fan.id],
    );
    await settle(s);
    assert.deepEqual(
      (await c.feed.getHomeFeed({}, fan.opts)).items.map((i) => i.post?.postId),
      [post.postId],
    );

    // Rejecting, removing: the follower loses access again.
    await c.graph.removeFollower({ userId: fan.id }, owner.opts);
    await denied(c.post.getPost({ postId: post.postId }, fan.opts), Code.NotFound);
    await denied(c.graph.approveFollowRequest({ userId: fan.id }, owner.opts), Code.NotFound);
  });

  it("approves pending requests when an account turns public", async () => {
    const c = s.app.runtime.clients;
    const owner = await newUser(c, "owner");
    const fan = await newUser(c, "fan");
    await c.graph.updatePrivacySettings({ settings: { private: true } }, owner.opts);
    await c.graph.follow({ userId: owner.id }, fan.opts);
    await c.graph.updatePrivacySettings({ settings: { private: false } }, owner.opts);
    assert.equal((await c.graph.getRelationship({ userId: owner.id }, fan.opts)).relationship?.outgoing, FollowState.FOLLOWING);
    assert.equal((await c.graph.getFollowStats({ userId: owner.id }, fan.opts)).followerCount, 1n);
  });

  it("pages followers with stable, complete pages", async () => {
    const c = s.app.runtime.clients;
    const star = await newUser(c, "star");
    const fans = [];
    for (let i = 0; i < 7; i++) {
      const f = await newUser(c, "f");
      await c.graph.follow({ userId: star.id }, f.opts);
      fans.push(f.id);
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await c.graph.listFollowers({ userId: star.id, pageSize: 3, pageToken }, star.opts);
      seen.push(...page.followers.map((f) => f.userId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(seen, [...fans].reverse());
    const celebs = await c.graph.listFollowing({ userId: fans[0]!, minFollowerCount: 5n }, star.opts);
    assert.deepEqual(
      celebs.following.map((f) => f.userId),
      [star.id],
    );
    assert.deepEqual((await c.graph.listFollowing({ userId: fans[0]!, minFollowerCount: 8n }, star.opts)).following, []);
  });
});
