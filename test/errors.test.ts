// Bad input and bad credentials: clear codes with field details, never INTERNAL; nobody acts as
// someone else.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPair, SignJWT } from "jose";
import { newUser, rejectsWith, settle, startSystem, type TestSystem } from "./harness.js";

describe("errors and authorization", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("refuses calls without a valid token", async () => {
    const u = await newUser(s.grpc);
    await rejectsWith(s.grpc.feed.getHomeFeed({}), Code.Unauthenticated);
    await rejectsWith(s.grpc.feed.getHomeFeed({}, { headers: { authorization: "Bearer not.a.token" } }), Code.Unauthenticated);
    await rejectsWith(s.grpc.feed.getHomeFeed({}, { headers: { authorization: "Basic abc" } }), Code.Unauthenticated);
    // A token signed by another key, with a valid shape and the victim's id as subject.
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "x" })
      .setIssuer("feedmesh")
      .setAudience("feedmesh")
      .setSubject(u.id)
      .setExpirationTime("5m")
      .sign(privateKey);
    await rejectsWith(s.grpc.feed.getHomeFeed({}, { headers: { authorization: `Bearer ${forged}` } }), Code.Unauthenticated);
    // alg "none" and a service token signed with a guessed key.
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: u.id, aud: "feedmesh", iss: "feedmesh" })).toString("base64url")}.`;
    await rejectsWith(s.grpc.feed.getHomeFeed({}, { headers: { authorization: `Bearer ${none}` } }), Code.Unauthenticated);
    const svc = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("feedmesh")
      .setAudience("feedmesh-internal")
      .setSubject("fanout")
      .setExpirationTime("5m")
      .sign(createHmac("sha256", "guess").digest());
    await rejectsWith(s.grpc.graph.listFollowers({ userId: u.id }, { headers: { authorization: `Bearer ${svc}` } }), Code.Unauthenticated);
    // An expired token of the right key cannot be made without the key; a wrong audience is refused.
    await rejectsWith(s.grpc.identity.getCurrentUser({}, { headers: { authorization: `Bearer ${u.refreshToken}` } }), Code.Unauthenticated);
  });

  it("acts only as the token's subject", async () => {
    const alice = await newUser(s.grpc, "alice");
    const mallory = await newUser(s.grpc, "mallory");
    const post = (await s.grpc.post.createPost({ caption: "mine" }, alice.opts)).post!;
    await rejectsWith(s.grpc.post.deletePost({ postId: post.postId }, mallory.opts), Code.PermissionDenied);
    await rejectsWith(s.grpc.post.editPost({ postId: post.postId, caption: "pwned" }, mallory.opts), Code.PermissionDenied);
    // There is no author field to forge; an unknown JSON field is refused, not silently used.
    const res = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/CreatePost`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${mallory.token}` },
      body: JSON.stringify({ caption: "as alice", authorId: alice.id }),
    });
    assert.equal(res.status, 400);
    const created = (await s.grpc.post.createPost({ caption: "as me" }, mallory.opts)).post!;
    assert.equal(created.authorId, mallory.id);
    assert.equal((await s.grpc.post.getPost({ postId: post.postId }, mallory.opts)).post?.caption, "mine");
  });

  it("gives INVALID_ARGUMENT with field details for bad input", async () => {
    const u = await newUser(s.grpc);
    await rejectsWith(s.grpc.post.createPost({ caption: "" }, u.opts), Code.InvalidArgument, "caption");
    await rejectsWith(s.grpc.post.createPost({ caption: "   " }, u.opts), Code.InvalidArgument, "caption");
    await rejectsWith(s.grpc.post.createPost({ caption: "x".repeat(2201) }, u.opts), Code.InvalidArgument, "caption");
    await rejectsWith(s.connect.post.createPost({ caption: "x".repeat(2201) }, u.opts), Code.InvalidArgument, "caption");
    await rejectsWith(s.grpc.post.createPost({ caption: "ok", requestId: "bad id!" }, u.opts), Code.InvalidArgument, "request_id");
    await rejectsWith(s.grpc.post.getPost({ postId: "abc" }, u.opts), Code.InvalidArgument, "post_id");
    await rejectsWith(s.grpc.graph.follow({ userId: u.id }, u.opts), Code.InvalidArgument, "user_id");
    await rejectsWith(s.grpc.feed.getHomeFeed({ pageSize: 1000 }, u.opts), Code.InvalidArgument, "page_size");
    await rejectsWith(s.grpc.identity.signUp({ username: "a", email: "not-an-email", password: "short" }), Code.InvalidArgument, "email");
    await rejectsWith(
      s.grpc.identity.signUp({ username: "weakling", email: "weak@example.com", password: "aaaaaaaaaaaa" }),
      Code.InvalidArgument,
      "password",
    );
    await rejectsWith(
      s.grpc.identity.signUp({ username: u.username, email: "different@example.com", password: "Harbour-Lights-55" }),
      Code.AlreadyExists,
    );
    await rejectsWith(s.grpc.identity.login({ login: u.username, password: "Wrong-Pass-55" }), Code.Unauthenticated);
  });

  it("gives NOT_FOUND for unknown ids", async () => {
    const u = await newUser(s.grpc);
    await rejectsWith(s.grpc.post.getPost({ postId: "123456789" }, u.opts), Code.NotFound);
    await rejectsWith(s.grpc.post.deletePost({ postId: "123456789" }, u.opts), Code.NotFound);
    await rejectsWith(s.grpc.identity.getUser({ userId: "123456789" }, u.opts), Code.NotFound);
    await rejectsWith(s.grpc.graph.follow({ userId: "123456789" }, u.opts), Code.NotFound);
    assert.deepEqual((await s.grpc.post.batchGetPosts({ postIds: ["1", "2"] }, u.opts)).posts, []);
  });

  it("refuses malformed, tampered and foreign page tokens", async () => {
    const a = await newUser(s.grpc);
    const b = await newUser(s.grpc);
    for (let i = 0; i < 3; i++) await s.grpc.post.createPost({ caption: `p${i}` }, a.opts);
    const page = await s.grpc.post.listUserPosts({ userId: a.id, pageSize: 1 }, a.opts);
    assert.notEqual(page.nextPageToken, "");
    const next = await s.grpc.post.listUserPosts({ userId: a.id, pageSize: 1, pageToken: page.nextPageToken }, b.opts);
    assert.equal(next.posts.length, 1);
    await rejectsWith(s.grpc.post.listUserPosts({ userId: a.id, pageToken: "garbage" }, a.opts), Code.InvalidArgument, "page_token");
    const [body, sig] = page.nextPageToken.split(".");
    const forged = `${Buffer.from(JSON.stringify({ p: "1" })).toString("base64url")}.${sig}`;
    await rejectsWith(s.grpc.post.listUserPosts({ userId: a.id, pageToken: forged }, a.opts), Code.InvalidArgument, "page_token");
    await rejectsWith(s.grpc.post.listUserPosts({ userId: b.id, pageToken: `${body}.${sig}` }, a.opts), Code.InvalidArgument, "page_token");
    // A feed token is bound to its reader.
    await s.grpc.graph.follow({ userId: a.id }, b.opts);
    await settle(s);
    const feed = await s.grpc.feed.getHomeFeed({ pageSize: 1 }, b.opts);
    assert.notEqual(feed.nextPageToken, "");
    await rejectsWith(s.grpc.feed.getHomeFeed({ pageToken: feed.nextPageToken }, a.opts), Code.InvalidArgument, "page_token");
  });

  // Bytes that are not a LoginRequest: a string that is not UTF-8, a length past the end, tag 0.
  const UNDECODABLE = [Buffer.from([0x0a, 0x02, 0xff, 0xfe]), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x00, 0x01])];
  const LOGIN = "/feedmesh.identity.v1.IdentityService/Login";
  const envelope = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]);

  it("answers INVALID_ARGUMENT, not INTERNAL, to bytes that are not a protobuf message, on every port and protocol", async () => {
    const client = new grpc.Client(s.grpcUrl.replace("http://", ""), grpc.credentials.createInsecure());
    const h2 = http2.connect(s.httpUrl);
    try {
      for (const bytes of UNDECODABLE) {
        const what = bytes.toString("hex");
        // gRPC on the gRPC port (grpc-js)
        const err = await new Promise<grpc.ServiceError>((resolve) =>
          client.makeUnaryRequest(
            LOGIN,
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            (e) => resolve(e as grpc.ServiceError),
          ),
        );
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `grpc-js port, ${what}`);
        // Connect binary on the HTTP port
        const connect = await fetch(`${s.httpUrl}${LOGIN}`, {
          method: "POST",
          headers: { "content-type": "application/proto" },
          body: bytes,
        });
        const body = (await connect.json()) as { code: string; message: string };
        assert.equal(connect.status, 400, `Connect, ${what}: ${JSON.stringify(body)}`);
        assert.equal(body.code, "invalid_argument");
        assert.match(body.message, /not a valid feedmesh\.identity\.v1\.LoginRequest/);
        // gRPC-Web on the HTTP port: the status is in the trailers (headers when there is no body)
        const web = await fetch(`${s.httpUrl}${LOGIN}`, {
          method: "POST",
          headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
          body: envelope(bytes),
        });
        const trailers =
          web.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(Buffer.from(await web.arrayBuffer()).toString("latin1"))?.[1];
        assert.equal(trailers, String(grpc.status.INVALID_ARGUMENT), `gRPC-Web, ${what}`);
        // gRPC over HTTP/2 on the HTTP port (connect-node)
        const status = await new Promise<string | undefined>((resolve, reject) => {
          const req = h2.request({ ":method": "POST", ":path": LOGIN, "content-type": "application/grpc", te: "trailers" });
          let got: string | undefined;
          req.on("response", (h) => {
            got = h["grpc-status"] as string | undefined;
          });
          req.on("trailers", (t) => {
            got = (t["grpc-status"] as string | undefined) ?? got;
          });
          req.on("end", () => resolve(got));
          req.on("error", reject);
          req.resume();
          req.end(envelope(bytes));
        });
        assert.equal(status, String(grpc.status.INVALID_ARGUMENT), `gRPC on the HTTP port, ${what}`);
      }
    } finally {
      client.close();
      h2.close();
    }
  });

  it("refuses JSON that is not UTF-8 rather than storing replacement characters", async () => {
    const u = await newUser(s.grpc, "utf8");
    const body = Buffer.concat([Buffer.from('{"caption":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]); // Latin-1 é
    const res = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/CreatePost`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${u.token}` },
      body,
    });
    const err = (await res.json()) as { code: string; message: string };
    assert.equal(res.status, 400, JSON.stringify(err));
    assert.equal(err.code, "invalid_argument");
    assert.match(err.message, /utf-8/i);
    const posts = await s.grpc.post.listUserPosts({ userId: u.id }, u.opts);
    assert.equal(posts.posts.length, 0, "nothing stored");
  });

  it("refreshes tokens once, and a reused refresh token ends the session family", async () => {
    const u = await newUser(s.grpc);
    const r1 = await s.grpc.identity.refresh({ refreshToken: u.refreshToken });
    const opts = { headers: { authorization: `Bearer ${r1.tokens!.accessToken}` } };
    assert.equal((await s.grpc.identity.getCurrentUser({}, opts)).user?.userId, u.id);
    await rejectsWith(s.grpc.identity.refresh({ refreshToken: u.refreshToken }), Code.Unauthenticated);
    // The family was revoked: the newer refresh token no longer works either.
    await rejectsWith(s.grpc.identity.refresh({ refreshToken: r1.tokens!.refreshToken }), Code.Unauthenticated);
  });

  it("retried CreatePost with the same request id returns the same post", async () => {
    const u = await newUser(s.grpc);
    const first = (await s.grpc.post.createPost({ caption: "once", requestId: "req-1" }, u.opts)).post!;
    const again = (await s.grpc.post.createPost({ caption: "once", requestId: "req-1" }, u.opts)).post!;
    assert.equal(again.postId, first.postId);
    const list = await s.grpc.post.listUserPosts({ userId: u.id }, u.opts);
    assert.equal(list.posts.length, 1);
  });
});
