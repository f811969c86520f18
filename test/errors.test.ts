// Bad input and bad credentials: clear codes with field details, never INTERNAL; nobody acts as
// someone else.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPair, SignJWT } from "jose";
import { BadRequestSchema } from "../gen/ts/google/rpc/error_details_pb.js";
import { clientsFor, newUser, rejectsWith, settle, startSystem, type TestSystem } from "./harness.js";

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

  it("says what a rule asks for in words, naming fields as the client's encoding names them", async () => {
    const u = await newUser(s.grpc, "words");
    const violations = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => assert.fail("expected an error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectError && err.code === Code.InvalidArgument, String(err));
      return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => [v.field, v.description]));
    };
    const id = "must be an id: a decimal number of 1 to 19 digits";
    // binary gRPC and binary Connect: proto names
    assert.deepEqual(await violations(s.grpc.post.batchGetPosts({ postIds: ["1", "abc"] }, u.opts)), [["post_ids[1]", id]]);
    assert.deepEqual(await violations(s.connect.post.batchGetPosts({ postIds: ["abc"] }, u.opts)), [["post_ids[0]", id]]);
    // Connect JSON: JSON names
    const json = clientsFor(createConnectTransport({ baseUrl: s.httpUrl, httpVersion: "1.1", useBinaryFormat: false }));
    assert.deepEqual(await violations(json.post.batchGetPosts({ postIds: ["abc"] }, u.opts)), [["postIds[0]", id]]);
    assert.deepEqual(await violations(json.post.createPost({ caption: "" }, u.opts)), [
      ["caption", "must not be empty when the post has no media"],
    ]);
    assert.deepEqual(await violations(json.search.searchPosts({ query: "" }, u.opts)), [["query", "must not be empty"]]);
    // a JSON body may spell fields by their proto names too: then errors do as well
    const raw = async (body: unknown) => {
      const res = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/BatchGetPosts`, {
        method: "POST",
        headers: { ...u.opts.headers, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400);
      assert.match(res.headers.get("x-trace-id") ?? "", /^[0-9a-f]{32}$/, "an error names its trace");
      const err = (await res.json()) as { details: { debug: { fieldViolations: { field: string }[] } }[] };
      return err.details[0]!.debug.fieldViolations.map((v) => v.field);
    };
    assert.deepEqual(await raw({ post_ids: ["abc"] }), ["post_ids[0]"]);
    assert.deepEqual(await raw({ postIds: ["abc"] }), ["postIds[0]"]);
    // the handlers' own checks (after the contract's rules) name fields the same way
    const unknownMedia = "must be a completed upload of yours";
    assert.deepEqual(await violations(json.post.createPost({ caption: "x", mediaIds: ["abc"] }, u.opts)), [["mediaIds[0]", unknownMedia]]);
    assert.deepEqual(await violations(s.grpc.post.createPost({ caption: "x", mediaIds: ["abc"] }, u.opts)), [
      ["media_ids[0]", unknownMedia],
    ]);
    assert.deepEqual(await violations(json.graph.follow({ userId: u.id }, u.opts)), [["userId", "you cannot follow yourself"]]);
    for (const p of [
      s.grpc.identity.signUp({ username: "no spaces", email: "a@example.com", password: "Harbour-Lights-55" }),
      s.grpc.graph.follow({ userId: "x" }, u.opts),
      s.grpc.post.createPost({ caption: "" }, u.opts),
      s.grpc.search.searchPosts({ query: "" }, u.opts),
    ])
      for (const [field, why] of await violations(p)) {
        assert.ok(field && why, `${field}: ${why}`);
        assert.doesNotMatch(why!, /regex|\^|\$|at least 1 characters/, `${field}: ${why}`);
      }
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

  it("names the field of a JSON request it cannot decode, as the client spelt it, in a BadRequest detail", async () => {
    const u = await newUser(s.grpc, "jsonerr");
    const call = async (path: string, body: string) => {
      const res = await fetch(`${s.httpUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${u.token}` },
        body,
      });
      const err = (await res.json()) as { code: string; message: string; details?: { type: string; value: string }[] };
      assert.equal(res.status, 400, JSON.stringify(err));
      assert.equal(err.code, "invalid_argument");
      const detail = err.details?.find((d) => d.type === "google.rpc.BadRequest");
      assert.ok(detail, `a BadRequest detail: ${JSON.stringify(err)}`);
      return fromBinary(BadRequestSchema, Buffer.from(detail.value, "base64")).fieldViolations.map((v) => [v.field, v.description]);
    };
    const CREATE = "/feedmesh.post.v1.PostService/CreatePost";
    assert.deepEqual(await call(CREATE, '{"caption":"x","authorId":"1"}'), [
      ["authorId", "is not a field of feedmesh.post.v1.CreatePostRequest"],
    ]);
    assert.deepEqual(await call(CREATE, '{"caption":12}'), [["caption", "must be string, got 12"]]);
    assert.deepEqual(await call(CREATE, '{"caption":"\\ud800"}'), [["caption", "must be valid UTF-8 text (no lone surrogates)"]]);
    assert.deepEqual(await call(CREATE, '{"caption":"x","mediaIds":[3]}'), [["mediaIds[0]", "must be string, got 3"]]);
    assert.deepEqual(await call(CREATE, '{"caption":"x","media_ids":[3]}'), [["media_ids[0]", "must be string, got 3"]]);
    const [[field, why]] = (await call("/feedmesh.search.v1.SearchService/SearchPosts", '{"query":"x","sort":"SEARCH_SORT_NOPE"}')) as [
      [string, string],
    ];
    assert.equal(field, "sort");
    assert.match(why, /SEARCH_SORT_NOPE/);
    const posts = await s.grpc.post.listUserPosts({ userId: u.id }, u.opts);
    assert.equal(posts.posts.length, 0, "nothing stored");
  });

  it("answers protocol errors on the HTTP port with a JSON body that says what to send", async () => {
    const rpc = `${s.httpUrl}/feedmesh.identity.v1.IdentityService/GetJwks`;
    for (const [init, status, code, message] of [
      [{ method: "POST", body: new TextEncoder().encode("{}") }, 415, "invalid_argument", /content-type .*application\/json/],
      [{ method: "POST", headers: { "content-type": "text/xml" }, body: "<a/>" }, 415, "invalid_argument", /"text\/xml"/],
      [{ method: "PUT", headers: { "content-type": "application/json" }, body: "{}" }, 405, "unimplemented", /PUT .*POST/],
    ] as const) {
      const res = await fetch(rpc, init as RequestInit);
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, code);
      assert.match(body.message, message);
    }
    const missing = await fetch(`${s.httpUrl}/feedmesh.nothing.v1.Nope/Call`, { method: "POST" });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, "not_found");
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
