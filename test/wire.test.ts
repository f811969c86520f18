// The wire: a stock @grpc/grpc-js client (with @grpc/proto-loader on the committed descriptor
// set, no generated code), Connect JSON over HTTP/1.1 with plain fetch, gRPC-Web, health and
// reflection on both ports.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { FeedService, GetHomeFeedResponseSchema } from "../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { BadRequestSchema } from "../gen/ts/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection, type ServerReflectionResponse } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { SERVICES } from "../services/platform/clients.js";
import { createGrpcJsTransport } from "../services/platform/transport.grpc.js";
import { clientsFor, newUser, settle, startSystem, type TestSystem } from "./harness.js";

describe("wire protocols", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("answers the same home-feed page on every protocol: stored bytes spliced for binary callers, decoded for JSON", async () => {
    const author = await newUser(s.grpc, "splice");
    const reader = await newUser(s.grpc, "splice");
    await s.grpc.graph.follow({ userId: author.id }, reader.opts);
    await s.grpc.post.createPost({ caption: "spliced ünïcode #bytes" }, author.opts);
    const liked = (await s.grpc.post.createPost({ caption: "second" }, author.opts)).post!.postId;
    await s.grpc.engagement.like({ postId: liked }, reader.opts);
    await settle(s);
    const transports = {
      "gRPC, grpc-js port": createGrpcJsTransport(s.grpcUrl.replace("http://", "")),
      "gRPC, HTTP port": createGrpcTransport({ baseUrl: s.httpUrl }),
      "gRPC-Web binary": createGrpcWebTransport({ baseUrl: s.httpUrl, httpVersion: "1.1" }),
      "gRPC-Web JSON": createGrpcWebTransport({ baseUrl: s.httpUrl, httpVersion: "1.1", useBinaryFormat: false }),
      "Connect binary": createConnectTransport({ baseUrl: s.httpUrl, httpVersion: "1.1", useBinaryFormat: true }),
      "Connect JSON": createConnectTransport({ baseUrl: s.httpUrl, httpVersion: "1.1" }),
    };
    const read = (t: (typeof transports)[keyof typeof transports]) =>
      createClient(FeedService, t).getHomeFeed({ pageSize: 1 }, reader.opts);
    await read(transports["gRPC, grpc-js port"]); // the first read fills the read model
    const pages = Object.fromEntries(
      await Promise.all(Object.entries(transports).map(async ([name, t]) => [name, toJson(GetHomeFeedResponseSchema, await read(t))])),
    );
    const want = pages["Connect JSON"] as { items: { post: { caption: string }; author: { username: string }; counters: object }[] };
    assert.equal(want.items[0]!.post.caption, "second");
    assert.equal(want.items[0]!.author.username, author.username);
    assert.deepEqual(want.items[0]!.counters, { postId: liked, likeCount: "1", likedByCaller: true });
    for (const [name, page] of Object.entries(pages)) {
      const { nextPageToken, ...rest } = page as { nextPageToken: string };
      const { nextPageToken: token, ...wanted } = want as unknown as { nextPageToken: string };
      assert.deepEqual(rest, wanted, name);
      assert.ok(nextPageToken && token, `${name}: a next page`);
    }
  });

  it("serves a stock grpc-js client built from the committed descriptor set", async () => {
    const def = protoLoader.loadFileDescriptorSetFromBuffer(readFileSync(new URL("../gen/feedmesh.binpb", import.meta.url)), {
      longs: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const addr = s.grpcUrl.replace("http://", "");
    const identity = new pkg.feedmesh.identity.v1.IdentityService(addr, grpc.credentials.createInsecure());
    const graph = new pkg.feedmesh.graph.v1.GraphService(addr, grpc.credentials.createInsecure());
    const call = (client: any, method: string, req: object, md = new grpc.Metadata()) =>
      new Promise<any>((resolve, reject) =>
        client[method](req, md, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
      );
    try {
      const res = await call(identity, "SignUp", { username: "stockclient", email: "stock@example.com", password: "Harbour-Lights-77" });
      assert.match(res.user.user_id, /^\d+$/);
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${res.tokens.access_token}`);
      const stats = await call(graph, "GetFollowStats", { user_id: res.user.user_id }, md);
      assert.equal(stats.follower_count, "0");
      // Without a token: UNAUTHENTICATED, with the gRPC status code a stock client understands.
      await assert.rejects(
        call(graph, "GetFollowStats", { user_id: res.user.user_id }),
        (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED,
      );
    } finally {
      identity.close();
      graph.close();
    }
  });

  it("answers Connect JSON over HTTP/1.1 with plain fetch, ids as strings", async () => {
    const signUp = await fetch(`${s.httpUrl}/feedmesh.identity.v1.IdentityService/SignUp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "jsonuser", email: "json@example.com", password: "Harbour-Lights-78" }),
    });
    assert.equal(signUp.status, 200);
    const body = (await signUp.json()) as { user: { userId: string }; tokens: { accessToken: string } };
    assert.equal(typeof body.user.userId, "string");
    const post = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/CreatePost`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${body.tokens.accessToken}` },
      body: JSON.stringify({ caption: "over json" }),
    });
    assert.equal(post.status, 200);
    const created = (await post.json()) as { post: { postId: string; authorId: string; createTime: string } };
    assert.equal(created.post.authorId, body.user.userId);
    assert.match(created.post.createTime, /^\d{4}-\d\d-\d\dT/);
    const stats = await fetch(`${s.httpUrl}/feedmesh.graph.v1.GraphService/GetFollowStats`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${body.tokens.accessToken}` },
      body: JSON.stringify({ userId: body.user.userId }),
    });
    assert.deepEqual(await stats.json(), {}); // zero counts: proto3 JSON omits defaults
    const missing = await fetch(`${s.httpUrl}/feedmesh.post.v1.PostService/CreatePost`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ caption: "x" }),
    });
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { code: string }).code, "unauthenticated");
  });

  it("serves gRPC and gRPC-Web on the HTTP port too", async () => {
    const grpcOnHttp = clientsFor(createGrpcTransport({ baseUrl: s.httpUrl }));
    const web = clientsFor(createGrpcWebTransport({ baseUrl: s.httpUrl, httpVersion: "1.1" }));
    assert.ok((await grpcOnHttp.identity.getJwks({})).keys.length >= 1);
    const jwks = await web.identity.getJwks({});
    assert.equal(jwks.keys[0]?.kty, "EC");
    assert.equal(jwks.keys[0]?.alg, "ES256");
    assert.ok(
      !JSON.stringify(
        await (
          await fetch(`${s.httpUrl}/feedmesh.identity.v1.IdentityService/GetJwks`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: "{}",
          })
        ).json(),
      ).includes('"d"'),
      "no private key material in the JWKS",
    );
  });

  it("serves grpc.health.v1 and reflection listing every service, on both ports", async () => {
    for (const baseUrl of [s.grpcUrl, s.httpUrl]) {
      const transport = createGrpcTransport({ baseUrl });
      const health = createClient(Health, transport);
      assert.equal((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);
      assert.equal((await health.check({ service: "feedmesh.feed.v1.FeedService" })).status, HealthCheckResponse_ServingStatus.SERVING);
      const reflection = createClient(ServerReflection, transport);
      const answers = [];
      for await (const res of reflection.serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
          yield { messageRequest: { case: "fileContainingSymbol" as const, value: "feedmesh.post.v1.PostService.CreatePost" } };
          yield { messageRequest: { case: "fileByFilename" as const, value: "feedmesh/feed/v1/feed_service.proto" } };
          yield { messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Thing" } };
          // The error details every service sends, so that grpcurl and buf curl can decode them.
          yield { messageRequest: { case: "fileContainingSymbol" as const, value: "google.rpc.BadRequest" } };
          yield { messageRequest: { case: "fileContainingSymbol" as const, value: "google.rpc.Status" } };
        })(),
      )) {
        answers.push(res.messageResponse);
      }
      const listed = answers[0]?.case === "listServicesResponse" ? answers[0].value.service.map((x) => x.name) : [];
      for (const desc of Object.values(SERVICES)) assert.ok(listed.includes(desc.typeName), `${desc.typeName} listed`);
      assert.ok(listed.includes("grpc.health.v1.Health"));
      assert.equal(answers[1]?.case, "fileDescriptorResponse");
      assert.equal(answers[2]?.case, "fileDescriptorResponse");
      assert.ok(answers[2]?.case === "fileDescriptorResponse" && answers[2].value.fileDescriptorProto.length > 3, "dependencies included");
      assert.equal(answers[3]?.case, "errorResponse");
      for (const [i, file] of [
        [4, "google/rpc/error_details.proto"],
        [5, "google/rpc/status.proto"],
      ] as const) {
        const got: ServerReflectionResponse["messageResponse"] | undefined = answers[i];
        assert.ok(got?.case === "fileDescriptorResponse", `${file}: ${got?.case}`);
        assert.equal(fromBinary(FileDescriptorProtoSchema, got.value.fileDescriptorProto[0]!).name, file);
      }
    }
  });

  it("carries codes and field details through the grpc-js transport used between services", async () => {
    const c = clientsFor(createGrpcJsTransport(s.grpcUrl.replace("http://", "")));
    const u = await newUser(c, "viagrpcjs");
    const me = await c.identity.getCurrentUser({}, u.opts);
    assert.equal(me.user?.userId, u.id);
    const err = await c.post.createPost({ caption: "" }, u.opts).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError && err.code === Code.InvalidArgument, String(err));
    assert.deepEqual(
      err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)),
      ["caption"],
    );
  });

  it("returns a JSON 404 for unknown paths and ok on /healthz", async () => {
    const res = await fetch(`${s.httpUrl}/no/such/path`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, "not_found");
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200);
  });

  it("keeps working when a user is created over one port and used over the other", async () => {
    const u = await newUser(s.connect, "cross");
    const me = await s.grpc.identity.getCurrentUser({}, u.opts);
    assert.equal(me.user?.userId, u.id);
    assert.equal(me.email, `${u.username}@example.com`);
  });
});
