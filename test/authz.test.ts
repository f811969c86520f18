// The authorization matrix: every RPC of every service, called by every kind of caller, straight
// to the services (no edge: a request that bypasses the edge must not get further). The owner is
// a private account; "approved" follows it, "pending" asked to and waits, "stranger" is any other
// user, "anonymous" has no token. Each cell is the outcome the caller must get: OK (with what it
// may see) or a gRPC code. A new RPC without a row fails the completeness check.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { FollowState } from "../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { SERVICES } from "../services/platform/clients.js";
import { type Clients, newUser, settle, startSystem, type TestSystem } from "./harness.js";

const KINDS = ["anonymous", "owner", "approved", "pending", "stranger"] as const;
type Kind = (typeof KINDS)[number];
type User = Awaited<ReturnType<typeof newUser>>;
type Opts = { headers: Record<string, string> };

interface World {
  c: Clients;
  users: Record<Exclude<Kind, "anonymous">, User>;
  /** A user who is none of the callers, for the cells that need someone else. */
  bystander: User;
  opts(k: Kind): Opts;
  /** The owner's private post, its comment, and an upload the owner started. */
  postId: string;
  commentId: string;
  mediaId: string;
  /** A fresh post of the owner's, for the cells that change or delete one. */
  freshPost(): Promise<string>;
}

const OK = "ok" as const;
type Outcome = typeof OK | Code;
const U = Code.Unauthenticated;
const NF = Code.NotFound;
const PD = Code.PermissionDenied;
/** Every signed-in caller OK, anonymous UNAUTHENTICATED. */
const SIGNED_IN: Record<Kind, Outcome> = { anonymous: U, owner: OK, approved: OK, pending: OK, stranger: OK };
/** What the owner and its approved followers may see, hidden from the others. */
const VISIBLE_TO_FOLLOWERS = (hidden: Code): Record<Kind, Outcome> => ({
  anonymous: U,
  owner: OK,
  approved: OK,
  pending: hidden,
  stranger: hidden,
});
const PUBLIC: Record<Kind, Outcome> = { anonymous: OK, owner: OK, approved: OK, pending: OK, stranger: OK };

interface Row {
  expect: Record<Kind, Outcome>;
  call(w: World, k: Kind): Promise<unknown>;
  /** Further checks on an OK answer (what the caller may see). */
  check?(res: any, w: World, k: Kind): void;
}

const canSee = (k: Kind) => k === "owner" || k === "approved";
let seq = 0;
const unique = () => `${process.pid}${++seq}`;

const ROWS: Record<string, Row> = {
  // identity: public RPCs, and the caller's own account
  "IdentityService/SignUp": {
    expect: PUBLIC,
    call: (w, k) =>
      w.c.identity.signUp({ username: `su${unique()}`, email: `su${unique()}@example.com`, password: "Correct-Horse-9" }, w.opts(k)),
  },
  "IdentityService/Login": {
    expect: PUBLIC,
    call: (w, k) => w.c.identity.login({ login: w.users.owner.username, password: w.users.owner.password }, w.opts(k)),
    check: (res, w) => assert.ok(res.tokens.accessToken && res.user.userId === w.users.owner.id),
  },
  "IdentityService/Refresh": {
    expect: PUBLIC,
    async call(w, k) {
      const login = await w.c.identity.login({ login: w.users.stranger.username, password: w.users.stranger.password });
      return w.c.identity.refresh({ refreshToken: login.tokens!.refreshToken }, w.opts(k));
    },
  },
  "IdentityService/Logout": {
    expect: PUBLIC,
    async call(w, k) {
      const login = await w.c.identity.login({ login: w.users.stranger.username, password: w.users.stranger.password });
      return w.c.identity.logout({ refreshToken: login.tokens!.refreshToken }, w.opts(k));
    },
  },
  "IdentityService/GetJwks": { expect: PUBLIC, call: (w, k) => w.c.identity.getJwks({}, w.opts(k)) },
  "IdentityService/GetUser": { expect: SIGNED_IN, call: (w, k) => w.c.identity.getUser({ userId: w.users.owner.id }, w.opts(k)) },
  "IdentityService/GetCurrentUser": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.identity.getCurrentUser({}, w.opts(k)),
    check: (res, w, k) => assert.equal(res.user.userId, w.users[k as Exclude<Kind, "anonymous">].id),
  },
  "IdentityService/BatchGetUsers": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.identity.batchGetUsers({ userIds: [w.users.owner.id] }, w.opts(k)),
  },
  "IdentityService/UpdateProfile": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.identity.updateProfile({ displayName: `name ${k}`, updateMask: ["display_name"] }, w.opts(k)),
    // it changes the caller's own profile, never the owner's
    check: (res, w, k) => assert.equal(res.user.userId, w.users[k as Exclude<Kind, "anonymous">].id),
  },
  // graph
  "GraphService/Follow": {
    expect: { anonymous: U, owner: Code.InvalidArgument, approved: OK, pending: OK, stranger: OK },
    call: (w, k) => w.c.graph.follow({ userId: w.users.owner.id }, w.opts(k)),
    // a follow of a private account waits for approval
    check: (res, _w, k) => assert.equal(res.relationship.outgoing, k === "approved" ? FollowState.FOLLOWING : FollowState.REQUESTED),
  },
  "GraphService/Unfollow": {
    expect: { anonymous: U, owner: Code.InvalidArgument, approved: OK, pending: OK, stranger: OK },
    call: (w, k) => w.c.graph.unfollow({ userId: k === "owner" ? w.users.owner.id : w.bystander.id }, w.opts(k)),
  },
  "GraphService/GetRelationship": { expect: SIGNED_IN, call: (w, k) => w.c.graph.getRelationship({ userId: w.bystander.id }, w.opts(k)) },
  "GraphService/BatchGetRelationships": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.graph.batchGetRelationships({ userIds: [w.users.owner.id] }, w.opts(k)),
  },
  "GraphService/ListFollowers": {
    expect: VISIBLE_TO_FOLLOWERS(PD),
    call: (w, k) => w.c.graph.listFollowers({ userId: w.users.owner.id }, w.opts(k)),
    check: (res, w) =>
      assert.deepEqual(
        res.followers.map((f: any) => f.userId),
        [w.users.approved.id],
      ),
  },
  "GraphService/ListFollowing": {
    expect: VISIBLE_TO_FOLLOWERS(PD),
    call: (w, k) => w.c.graph.listFollowing({ userId: w.users.owner.id }, w.opts(k)),
  },
  "GraphService/GetFollowStats": { expect: SIGNED_IN, call: (w, k) => w.c.graph.getFollowStats({ userId: w.users.owner.id }, w.opts(k)) },
  "GraphService/ListFollowRequests": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.graph.listFollowRequests({}, w.opts(k)),
    // only the owner has requests (pending's, and those the Follow row made): each caller sees its own inbox
    check: (res, w, k) => {
      const ids = res.requests.map((f: any) => f.userId);
      if (k !== "owner") assert.deepEqual(ids, []);
      else assert.ok(ids.includes(w.users.pending.id) && !ids.includes(w.users.approved.id), ids.join(","));
    },
  },
  "GraphService/ApproveFollowRequest": {
    // only the account asked can approve; for anyone else there is no such request
    expect: { anonymous: U, owner: NF, approved: NF, pending: NF, stranger: NF },
    call: (w, k) => w.c.graph.approveFollowRequest({ userId: w.bystander.id }, w.opts(k)),
  },
  "GraphService/RejectFollowRequest": {
    expect: { anonymous: U, owner: NF, approved: NF, pending: NF, stranger: NF },
    call: (w, k) => w.c.graph.rejectFollowRequest({ userId: w.bystander.id }, w.opts(k)),
  },
  "GraphService/RemoveFollower": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.graph.removeFollower({ userId: w.bystander.id }, w.opts(k)),
  },
  "GraphService/GetPrivacySettings": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.graph.getPrivacySettings({}, w.opts(k)),
    check: (res, _w, k) => assert.equal(res.settings.private, k === "owner"),
  },
  "GraphService/UpdatePrivacySettings": {
    expect: SIGNED_IN,
    // each caller sets its own (public) setting; the owner re-affirms private
    call: (w, k) => w.c.graph.updatePrivacySettings({ settings: { private: k === "owner" } }, w.opts(k)),
  },
  // posts
  "PostService/CreatePost": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.post.createPost({ caption: `by ${k}` }, w.opts(k)),
    check: (res, w, k) => assert.equal(res.post.authorId, w.users[k as Exclude<Kind, "anonymous">].id),
  },
  "PostService/GetPost": { expect: VISIBLE_TO_FOLLOWERS(NF), call: (w, k) => w.c.post.getPost({ postId: w.postId }, w.opts(k)) },
  "PostService/BatchGetPosts": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.post.batchGetPosts({ postIds: [w.postId] }, w.opts(k)),
    check: (res, _w, k) => assert.equal(res.posts.length, canSee(k) ? 1 : 0),
  },
  "PostService/ListUserPosts": {
    expect: VISIBLE_TO_FOLLOWERS(PD),
    call: (w, k) => w.c.post.listUserPosts({ userId: w.users.owner.id }, w.opts(k)),
    check: (res, w) => assert.ok(res.posts.some((p: any) => p.postId === w.postId)),
  },
  "PostService/ListPostsByAuthors": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.post.listPostsByAuthors({ userIds: [w.users.owner.id] }, w.opts(k)),
    check: (res, w, k) =>
      assert.equal(
        res.posts.some((p: any) => p.postId === w.postId),
        canSee(k),
      ),
  },
  "PostService/EditPost": {
    expect: { anonymous: U, owner: OK, approved: PD, pending: PD, stranger: PD },
    call: async (w, k) => w.c.post.editPost({ postId: await w.freshPost(), caption: `edited by ${k}` }, w.opts(k)),
  },
  "PostService/DeletePost": {
    expect: { anonymous: U, owner: OK, approved: PD, pending: PD, stranger: PD },
    call: async (w, k) => w.c.post.deletePost({ postId: await w.freshPost() }, w.opts(k)),
  },
  // media
  "MediaService/CreateUpload": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.media.createUpload({ contentType: "image/jpeg", sizeBytes: 1000n }, w.opts(k)),
  },
  "MediaService/CompleteUpload": {
    // only the uploader may complete; the object was never uploaded, so the owner gets FAILED_PRECONDITION
    expect: { anonymous: U, owner: Code.FailedPrecondition, approved: NF, pending: NF, stranger: NF },
    call: (w, k) => w.c.media.completeUpload({ mediaId: w.mediaId }, w.opts(k)),
  },
  "MediaService/GetMedia": {
    // a pending upload is only the uploader's business
    expect: { anonymous: U, owner: OK, approved: NF, pending: NF, stranger: NF },
    call: (w, k) => w.c.media.getMedia({ mediaId: w.mediaId }, w.opts(k)),
  },
  "MediaService/BatchGetMedia": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.media.batchGetMedia({ mediaIds: [w.mediaId] }, w.opts(k)),
    check: (res, _w, k) => assert.equal(res.media.length, k === "owner" ? 1 : 0),
  },
  // feed
  "FeedService/GetHomeFeed": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.feed.getHomeFeed({}, w.opts(k)),
    check: (res, w, k) =>
      assert.equal(
        res.items.some((i: any) => i.post.postId === w.postId),
        canSee(k),
      ),
  },
  // engagement: only on a post the caller can see
  "EngagementService/Like": { expect: VISIBLE_TO_FOLLOWERS(NF), call: (w, k) => w.c.engagement.like({ postId: w.postId }, w.opts(k)) },
  "EngagementService/Unlike": { expect: VISIBLE_TO_FOLLOWERS(NF), call: (w, k) => w.c.engagement.unlike({ postId: w.postId }, w.opts(k)) },
  "EngagementService/ListLikers": {
    expect: VISIBLE_TO_FOLLOWERS(NF),
    call: (w, k) => w.c.engagement.listLikers({ postId: w.postId }, w.opts(k)),
  },
  "EngagementService/AddComment": {
    expect: VISIBLE_TO_FOLLOWERS(NF),
    call: (w, k) => w.c.engagement.addComment({ postId: w.postId, text: `comment by ${k}` }, w.opts(k)),
    check: (res, w, k) => assert.equal(res.comment.authorId, w.users[k as Exclude<Kind, "anonymous">].id),
  },
  "EngagementService/DeleteComment": {
    // the owner's comment: the approved follower sees it but may not delete it
    expect: { anonymous: U, owner: OK, approved: PD, pending: NF, stranger: NF },
    async call(w, k) {
      const { comment } = await w.c.engagement.addComment({ postId: w.postId, text: "to delete" }, w.opts("owner"));
      return w.c.engagement.deleteComment({ postId: w.postId, commentId: comment!.commentId }, w.opts(k));
    },
  },
  "EngagementService/ListComments": {
    expect: VISIBLE_TO_FOLLOWERS(NF),
    call: (w, k) => w.c.engagement.listComments({ postId: w.postId }, w.opts(k)),
    check: (res, w) => assert.ok(res.comments.some((c: any) => c.commentId === w.commentId)),
  },
  "EngagementService/BatchGetPostCounters": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.engagement.batchGetPostCounters({ postIds: [w.postId] }, w.opts(k)),
    // the counters of a post the caller cannot see say nothing about it
    check: (res, _w, k) => {
      if (!canSee(k))
        assert.ok(
          res.counters.every((c: any) => c.likeCount === 0n && c.commentCount === 0n),
          JSON.stringify(res.counters, (_, v) => (typeof v === "bigint" ? Number(v) : v)),
        );
    },
  },
  // notifications: always the caller's own inbox
  "NotificationService/ListNotifications": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.notification.listNotifications({}, w.opts(k)),
    check: (res, w, k) => {
      // the follow request is the owner's notification, nobody else's
      const requested = res.notifications.some((n: any) => n.actorId === w.users.pending.id);
      assert.equal(requested, k === "owner");
    },
  },
  "NotificationService/MarkRead": { expect: SIGNED_IN, call: (w, k) => w.c.notification.markRead({ notificationIds: [] }, w.opts(k)) },
  "NotificationService/GetUnreadCount": { expect: SIGNED_IN, call: (w, k) => w.c.notification.getUnreadCount({}, w.opts(k)) },
  "NotificationService/StreamNotifications": {
    expect: SIGNED_IN,
    async call(w, k) {
      const ctrl = new AbortController();
      const stream = w.c.notification.streamNotifications({}, { ...w.opts(k), signal: ctrl.signal, timeoutMs: 300 });
      try {
        for await (const _ of stream) break;
      } catch (err) {
        const e = ConnectError.from(err);
        if (e.code !== Code.DeadlineExceeded && e.code !== Code.Canceled) throw err;
      } finally {
        ctrl.abort();
      }
      return {};
    },
  },
  // search: results never show what the caller cannot see
  "SearchService/SearchPosts": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.search.searchPosts({ query: "#authzmatrix" }, w.opts(k)),
    check: (res, w, k) =>
      assert.equal(
        res.posts.some((p: any) => p.postId === w.postId),
        canSee(k),
      ),
  },
  "SearchService/SearchUsers": {
    expect: SIGNED_IN,
    call: (w, k) => w.c.search.searchUsers({ query: w.users.owner.username.slice(0, 6) }, w.opts(k)),
  },
};

describe("authorization matrix: every RPC × every kind of caller", () => {
  let s: TestSystem;
  let w: World;
  before(async () => {
    s = await startSystem();
    const c = s.grpc;
    const users = {
      owner: await newUser(c, "owner"),
      approved: await newUser(c, "approved"),
      pending: await newUser(c, "pending"),
      stranger: await newUser(c, "stranger"),
    };
    const bystander = await newUser(c, "bystander");
    const opts = (k: Kind): Opts => (k === "anonymous" ? { headers: {} } : users[k].opts);
    await c.graph.updatePrivacySettings({ settings: { private: true } }, opts("owner"));
    await c.graph.follow({ userId: users.owner.id }, opts("approved"));
    await c.graph.approveFollowRequest({ userId: users.approved.id }, opts("owner"));
    await c.graph.follow({ userId: users.owner.id }, opts("pending"));
    const { post } = await c.post.createPost({ caption: "private #authzmatrix" }, opts("owner"));
    const { comment } = await c.engagement.addComment({ postId: post!.postId, text: "first" }, opts("owner"));
    const { mediaId } = await c.media.createUpload({ contentType: "image/jpeg", sizeBytes: 1000n }, opts("owner"));
    await settle(s);
    w = {
      c,
      users,
      bystander,
      opts,
      postId: post!.postId,
      commentId: comment!.commentId,
      mediaId,
      freshPost: async () => (await c.post.createPost({ caption: "fresh" }, opts("owner"))).post!.postId,
    };
  });
  after(() => s?.stop());

  it("has a row for every RPC", () => {
    const all = Object.values(SERVICES).flatMap((svc) => svc.methods.map((m) => `${svc.name}/${m.name}`));
    assert.deepEqual(all.filter((m) => !ROWS[m]).sort(), []);
    assert.deepEqual(
      Object.keys(ROWS).filter((m) => !all.includes(m)),
      [],
    );
  });

  for (const [rpc, row] of Object.entries(ROWS)) {
    it(rpc, async () => {
      const wrong: string[] = [];
      for (const k of KINDS) {
        let got: Outcome;
        let res: unknown;
        try {
          res = await row.call(w, k);
          got = OK;
        } catch (err) {
          got = ConnectError.from(err).code;
          if (got !== row.expect[k])
            wrong.push(`${k}: expected ${label(row.expect[k])}, got ${label(got)} (${ConnectError.from(err).rawMessage})`);
          continue;
        }
        if (got !== row.expect[k]) wrong.push(`${k}: expected ${label(row.expect[k])}, got OK`);
        else if (row.check) {
          try {
            row.check(res, w, k);
          } catch (err) {
            wrong.push(`${k}: OK but ${(err as Error).message}`);
          }
        }
      }
      assert.deepEqual(wrong, []);
    });
  }
});

function label(o: Outcome): string {
  return o === OK ? "OK" : Code[o];
}
