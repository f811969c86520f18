// Graph handlers through the in-memory router transport (no network): privacy and requests, and
// the celebrity index through threshold crossings, with the feed at each step of a crossing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { newUser, readFeed, settle, startSystem, type TestSystem } from "../../test/harness.js";
import { openFeedStore } from "../feed/index.js";
import { readModelOf } from "../feed/readmodel.safe.js";
import { encodeEvent } from "../platform/events.js";
import type { EmbeddedDb } from "../platform/sqlite.js";
import { CELEBRITY, DEMOTING, NOT_CELEBRITY, PROMOTING } from "./store.js";
import { SqliteGraphStore } from "./store.sqlite.js";

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

describe("graph: the celebrity index", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem({ FEEDMESH_CELEBRITY_THRESHOLD: "3" });
  });
  after(() => s.stop());

  it("lists a reader's celebrities from the index, through a promotion and a demotion", async () => {
    const c = s.app.runtime.clients;
    const star = await newUser(c, "star");
    const small = await newUser(c, "small");
    const fans = [await newUser(c, "fan"), await newUser(c, "fan"), await newUser(c, "fan")];
    await c.graph.follow({ userId: small.id }, fans[0]!.opts);
    const celebrities = async (min: bigint) =>
      (await c.graph.listFollowing({ userId: fans[0]!.id, minFollowerCount: min }, fans[0]!.opts)).following.map((f) => f.userId);
    for (const f of fans.slice(0, 2)) await c.graph.follow({ userId: star.id }, f.opts);
    await settle(s);
    assert.deepEqual(await celebrities(3n), []);
    assert.equal((await c.graph.getFollowStats({ userId: star.id }, star.opts)).celebritySince, undefined);

    await c.graph.follow({ userId: star.id }, fans[2]!.opts); // the third follower: promoted
    await settle(s);
    assert.ok((await c.graph.getFollowStats({ userId: star.id }, star.opts)).celebritySince);
    assert.deepEqual(await celebrities(3n), [star.id]);
    assert.deepEqual(await celebrities(4n), [], "above the threshold, the index filtered by count");
    // Newest follow first; the two follows may share a millisecond (then the larger id is first).
    assert.deepEqual((await celebrities(1n)).sort(), [star.id, small.id].sort(), "below it, the following list by count");

    await c.graph.removeFollower({ userId: fans[2]!.id }, star.opts); // 2 < 3 - 0: demoted
    await settle(s); // the graph asks the fanout, which pushes the posts and answers
    assert.equal((await c.graph.getFollowStats({ userId: star.id }, star.opts)).celebritySince, undefined);
    assert.deepEqual(await celebrities(3n), []);
  });

  it("keeps every post in the feed while a crossing is under way, in either direction", async () => {
    const c = s.app.runtime.clients;
    const graph = new SqliteGraphStore(s.app.runtime.store.db as EmbeddedDb); // to hold each step
    const feeds = await openFeedStore(s.app.runtime);
    const star = await newUser(c, "star");
    const reader = await newUser(c, "reader");
    await c.graph.follow({ userId: star.id }, reader.opts);
    await settle(s);
    const made: string[] = [];
    const post = async (caption: string) => {
      made.push((await c.post.createPost({ caption }, star.opts)).post!.postId);
      await settle(s);
    };
    const stored = async () => (await feeds.page(reader.id, 100, null)).map((e) => e.postId);
    const everything = () => [...made].reverse();
    await post("regular");

    // Promoting: the job has not reached the reader yet, so the star is still fanned out.
    await graph.moveCelebrity(star.id, NOT_CELEBRITY, { state: PROMOTING, since: Date.now() });
    await post("while promoting");
    assert.deepEqual(await readFeed(s.grpc, reader.opts), everything());
    await graph.indexFollowers(star.id, null, 1000, true);
    // As the promotion step does (celebrities.ts): readers' cached celebrity lists go stale first.
    await readModelOf(s.app.runtime).required.celebrityStatesChanged();
    await graph.moveCelebrity(star.id, await graph.celebrity(star.id), { state: CELEBRITY, since: Date.now() });
    await post("as a celebrity"); // pulled, not fanned out
    assert.deepEqual(await stored(), everything().slice(1));
    assert.deepEqual(await readFeed(s.grpc, reader.opts), everything());

    // Demoting, before the fanout has pushed the pulled posts: still pulled, new posts fanned out.
    const celebrity = await graph.celebrity(star.id);
    await graph.moveCelebrity(star.id, celebrity, { state: DEMOTING, since: celebrity.since });
    await post("while demoting");
    assert.deepEqual(await readFeed(s.grpc, reader.opts), everything());
    assert.deepEqual(
      await stored(),
      everything().filter((id) => id !== made[2]),
    );
    // A follow made while demoting is a regular follow: no index row, the recent posts pushed at
    // once; the demotion that ends takes nothing from that feed.
    const late = await newUser(c, "late");
    await c.graph.follow({ userId: star.id }, late.opts);
    await settle(s);
    assert.deepEqual((await graph.listCelebrities(late.id, 10, null)).edges, []);
    const lateStored = async () => (await feeds.page(late.id, 100, null)).map((e) => e.postId);
    assert.deepEqual(await lateStored(), everything(), "backfilled like any follow");
    assert.deepEqual(await readFeed(s.grpc, late.opts), everything());
    // The graph asks the fanout, which pushes the pulled post and answers; the index row goes.
    const demoting = await graph.celebrity(star.id);
    const ask = encodeEvent("follows", star.id, {
      event: { case: "celebrityDemoting", value: { userId: star.id, since: timestampFromMs(celebrity.since) } },
    });
    await graph.announce(star.id, demoting, ask);
    await settle(s);
    assert.deepEqual(await graph.celebrity(star.id), NOT_CELEBRITY);
    assert.deepEqual((await graph.listCelebrities(reader.id, 10, null)).edges, []);
    assert.deepEqual(await stored(), everything());
    assert.deepEqual(await readFeed(s.grpc, reader.opts), everything());
    assert.deepEqual(await lateStored(), everything());
    assert.deepEqual(await readFeed(s.grpc, late.opts), everything(), "the late follower lost nothing");
  });
});
