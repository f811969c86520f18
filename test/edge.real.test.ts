// REST (and gRPC) through the real Envoy edge, rendered by deploy/envoy/render.ts, in front of the
// system on Cassandra, Kafka and Redis: the REST flow a public app goes through, the errors it can
// meet (each a 4xx with a google.rpc.Status JSON body), tokens checked at the edge, rate limits,
// CORS, the OpenAPI document, and a stock gRPC client (grpc-js) through the gRPC listener.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { assertError, type Edge, rest, signUp, startEdge } from "./edge.js";
import { clientsFor, eventually, startSystem, type TestSystem } from "./harness.js";

const REAL = {
  FEEDMESH_STORE: "cassandra",
  FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
  FEEDMESH_KAFKA_TOPIC_PREFIX: `edge${process.pid}.`,
  FEEDMESH_SECRET: "an-edge-suite-secret-long-enough-0000",
};

describe("the Envoy edge in front of the system (Cassandra, Kafka, Redis)", () => {
  let s: TestSystem;
  let edge: Edge;
  before(async () => {
    s = await startSystem(REAL);
    edge = await startEdge({ httpPort: s.app.server.httpPort, grpcPort: s.app.server.grpcPort });
  });
  after(async () => {
    await edge?.stop();
    await s?.stop();
  });

  it("serves the REST flow: sign up, log in, follow, post, read the feed, refresh the token", async () => {
    const alice = await signUp(edge, "alice");
    const bob = await signUp(edge, "bob");
    const login = await rest(edge, "POST", "/v1/auth:login", { body: { login: bob.username, password: bob.password } });
    assert.equal(login.status, 200);
    const bobToken = login.json.tokens.accessToken as string;
    const me = await rest(edge, "GET", "/v1/me", { token: bobToken });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.userId, bob.id);

    const follow = await rest(edge, "POST", `/v1/users/${alice.id}:follow`, { token: bobToken, body: {} });
    assert.equal(follow.status, 200, JSON.stringify(follow.json));
    const created = await rest(edge, "POST", "/v1/posts", {
      token: alice.token,
      body: { caption: "hello from #rest", requestId: `r-${process.pid}-${alice.id}` },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const postId = created.json.post.postId as string;
    assert.deepEqual(created.json.post.hashtags, ["rest"]);

    const feed = await eventually(async () => {
      const res = await rest(edge, "GET", "/v1/feed?pageSize=10", { token: bobToken });
      assert.equal(res.status, 200);
      assert.equal(res.json.items?.[0]?.post?.postId, postId);
      return res.json;
    });
    assert.equal(feed.items[0].author.userId, alice.id);

    const refreshed = await rest(edge, "POST", "/v1/auth:refresh", { body: { refreshToken: login.json.tokens.refreshToken } });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
    assert.notEqual(refreshed.json.tokens.refreshToken, login.json.tokens.refreshToken);
    assert.equal((await rest(edge, "GET", "/v1/me", { token: refreshed.json.tokens.accessToken })).status, 200);
    // the refresh token was single-use
    assertError(await rest(edge, "POST", "/v1/auth:refresh", { body: { refreshToken: login.json.tokens.refreshToken } }), 401, 16);

    const jwks = await rest(edge, "GET", "/.well-known/jwks.json");
    assert.equal(jwks.status, 200);
    assert.equal(jwks.json.keys[0].kty, "EC");
  });

  it("answers bad requests with a 4xx and a google.rpc.Status JSON body", async () => {
    const u = await signUp(edge);
    assertError(await rest(edge, "POST", "/v1/posts", { token: u.token, raw: '{"caption":' }), 400, 3);
    assertError(await rest(edge, "POST", "/v1/posts", { token: u.token, raw: '{"caption":5}' }), 400, 3);
    assertError(
      await rest(edge, "POST", "/v1/posts", { token: u.token, body: { caption: "x", bogus: 1 } }),
      400,
      3,
      /^unknown field "bogus"/,
    );
    assertError(await rest(edge, "POST", "/v1/auth:login", { body: { username: u.username, password: u.password } }), 400, 3, /username/);
    const invalid = await rest(edge, "POST", "/v1/posts", { token: u.token, body: { caption: "a".repeat(2201) } });
    assertError(invalid, 400, 3);
    assert.equal(invalid.json.details[0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
    assert.equal(invalid.json.details[0].fieldViolations[0].field, "caption");
    // A REST client is a JSON client: fields are named as JSON names them, rules said in words.
    const badId = await rest(edge, "GET", "/v1/users/abc/followers", { token: u.token });
    assertError(badId, 400, 3);
    assert.deepEqual(badId.json.details[0].fieldViolations, [
      { field: "userId", description: "must be an id: a decimal number of 1 to 19 digits" },
    ]);
    // ... unless it spelt them by their proto names, which REST accepts too
    const violated = async (body: unknown) => {
      const res = await rest(edge, "POST", "/v1/posts", { token: u.token, body });
      assertError(res, 400, 3);
      return res.json.details[0].fieldViolations.map((v: { field: string }) => v.field);
    };
    assert.deepEqual(await violated({ caption: "x", mediaIds: ["abc"] }), ["mediaIds[0]"]);
    assert.deepEqual(await violated({ caption: "x", media_ids: ["abc"] }), ["media_ids[0]"]);
    assertError(
      await rest(edge, "POST", "/v1/posts", { token: u.token, raw: JSON.stringify({ caption: "a".repeat(2 * 1024 * 1024) }) }),
      413,
      3,
    );
    assertError(await rest(edge, "GET", "/v1/feed?bogus=1", { token: u.token }), 400, 3, /bogus/);
    assertError(await rest(edge, "GET", "/v1/nothing/here", { token: u.token }), 404, 5);
    assertError(await rest(edge, "DELETE", "/v1/me", { token: u.token }), 404, 5);
    assertError(await rest(edge, "GET", "/v1/posts/123", { token: u.token }), 404, 5);
    // an id past the 64-bit range is a bad argument, not an internal error (found by the fuzzer)
    assertError(await rest(edge, "GET", "/v1/posts/92371032586689751390", { token: u.token }), 400, 3);
  });

  it("refuses a missing, tampered or foreign token with 401, and lets public routes through", async () => {
    const u = await signUp(edge);
    assertError(await rest(edge, "GET", "/v1/me"), 401, 16, /missing/i);
    const [h, p, sig] = u.token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    const otherUser = Buffer.from(JSON.stringify({ ...claims, sub: "1" })).toString("base64url");
    assertError(await rest(edge, "GET", "/v1/me", { token: `${h}.${otherUser}.${sig}` }), 401, 16);
    assertError(await rest(edge, "GET", "/v1/me", { token: `${u.token}x` }), 401, 16);
    // signed by a key of our own under the real key's id, and by another issuer
    const { privateKey } = await generateKeyPair("ES256");
    const kid = JSON.parse(Buffer.from(h!, "base64url").toString()).kid;
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer("feedmesh")
      .setAudience("feedmesh")
      .setSubject(u.id)
      .setExpirationTime("5m")
      .sign(privateKey);
    assertError(await rest(edge, "GET", "/v1/me", { token: forged }), 401, 16);
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer("https://evil.example")
      .setAudience("feedmesh")
      .setSubject(u.id)
      .setExpirationTime("5m")
      .sign(privateKey);
    assertError(await rest(edge, "GET", "/v1/me", { token: foreign }), 401, 16);
    // another audience, and a key the JWKS does not hold: token problems too, so 401 (not 403)
    for (const [aud, keyId] of [
      ["someone-else", kid],
      ["feedmesh", "no-such-key"],
    ]) {
      const t = await new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: keyId })
        .setIssuer("feedmesh")
        .setAudience(aud!)
        .setSubject(u.id)
        .setExpirationTime("5m")
        .sign(privateKey);
      const res = await rest(edge, "GET", "/v1/me", { token: t });
      assertError(res, 401, 16);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    // A Connect client gets the edge's errors in Connect's shape, as it gets the services' errors.
    for (const token of [undefined, forged]) {
      const res = await fetch(`${edge.httpUrl}/feedmesh.identity.v1.IdentityService/GetCurrentUser`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: "{}",
      });
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(res.status, 401, JSON.stringify(body));
      assert.equal(body.code, "unauthenticated");
      assert.equal(typeof body.message, "string");
    }
    // a client-set identity header is not trusted: the token decides
    const me = await rest(edge, "GET", "/v1/me", { token: u.token, headers: { "x-user-id": "1", "x-jwt-sub": "1" } });
    assert.equal(me.json.user.userId, u.id);
    // public routes need no token, but a bad one is still refused
    assert.equal((await rest(edge, "GET", "/v1/jwks")).status, 200);
    assertError(await rest(edge, "GET", "/v1/jwks", { token: "not-a-jwt" }), 401, 16);
    assert.ok((await exportJWK((await generateKeyPair("ES256")).publicKey)).x);
  });

  it("limits login attempts (429 over REST, RESOURCE_EXHAUSTED over gRPC)", async () => {
    const u = await signUp(edge);
    const codes = await Promise.all(
      Array.from({ length: 60 }, () => rest(edge, "POST", "/v1/auth:login", { body: { login: u.username, password: "wrong-password-1" } })),
    );
    const limited = codes.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, `no 429 among ${codes.map((r) => r.status).join(",")}`);
    assertError(limited[0]!, 429, 8);
    assert.equal(limited[0]!.headers.get("x-ratelimit-class"), "auth");
    // other classes have their own buckets: reading is not limited by login attempts
    assert.equal((await rest(edge, "GET", "/v1/me", { token: u.token })).status, 200);
    // gRPC callers get RESOURCE_EXHAUSTED (not a retriable UNAVAILABLE)
    const c = clientsFor(createGrpcTransport({ baseUrl: edge.grpcUrl }));
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () => c.identity.login({ login: u.username, password: "wrong-password-1" })),
    );
    const grpcCodes = results.map((r) => (r.status === "rejected" ? ConnectError.from(r.reason).code : Code.Unknown));
    assert.ok(grpcCodes.includes(Code.ResourceExhausted), grpcCodes.join(","));
    assert.ok(!grpcCodes.includes(Code.Unavailable), grpcCodes.join(","));
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const ok = await fetch(`${edge.httpUrl}/v1/feed`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.match(ok.headers.get("access-control-allow-headers") ?? "", /authorization/);
    const evil = await fetch(`${edge.httpUrl}/v1/feed`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
  });

  it("serves the committed OpenAPI document", async () => {
    const res = await rest(edge, "GET", "/openapi.json");
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, JSON.parse(readFileSync(new URL("../gen/openapi/feedmesh.openapi.json", import.meta.url), "utf8")));
  });

  it("logs each request as JSON with the trace id, which it starts when the client sent none", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await rest(edge, "GET", "/v1/jwks", { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, "user-agent": "with-trace" } });
    await rest(edge, "GET", "/v1/jwks", { headers: { "user-agent": "without-trace" } });
    const entries = await eventually(async () => {
      const lines = edge
        .log()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      const withTrace = lines.find((e) => e.user_agent === "with-trace");
      const without = lines.find((e) => e.user_agent === "without-trace");
      assert.ok(withTrace && without, "both requests are in the access log");
      return { withTrace, without };
    });
    assert.equal(entries.withTrace.trace_id, traceId);
    assert.equal(entries.withTrace.path, "/v1/jwks");
    assert.equal(entries.withTrace.rpc, "/feedmesh.identity.v1.IdentityService/GetJwks");
    assert.equal(entries.withTrace.status, 200);
    assert.match(entries.without.trace_id, /^[0-9a-f]{32}$/);
    assert.notEqual(entries.without.trace_id, traceId);
  });

  it("runs the README's REST example as written", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /<!-- readme-rest: start -->\s*```bash\n([\s\S]*?)```\s*<!-- readme-rest: end -->/.exec(readme)?.[1];
    assert.ok(block, "the README has a REST example block");
    // fresh names: the example signs up fixed ones, and the keyspace is shared across runs
    const name = `carol${process.pid}`;
    const script = block.replaceAll("http://127.0.0.1:8080", edge.httpUrl).replaceAll("carol", name);
    const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], { timeout: 60_000 });
    // curl prints each body without a newline: one JSON document after another
    const lines = stdout
      .trim()
      .replace(/}\s*{/g, "}\n{")
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].user.username, name);
    assert.equal(lines[1].user.username, name);
    assert.equal(lines[2].post.caption, "Hello over #rest");
    assert.equal(lines[3].posts[0].postId, lines[2].post.postId);
    assert.ok(Array.isArray(lines[4].items ?? []));
    assert.equal(lines[5].code, 16);
    assert.equal(lines[6].code, 3);
    assert.equal(lines[6].message, 'unknown field "captoin" in the request body');
  });

  it("streams notifications over REST while the client stays", async () => {
    const alice = await signUp(edge, "streama");
    const bob = await signUp(edge, "streamb");
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 30_000).unref();
    // the response's headers come with its first message: follow while the request is open
    const opened = fetch(`${edge.httpUrl}/v1/notifications:stream`, {
      headers: { authorization: `Bearer ${alice.token}` },
      signal: ctrl.signal,
    });
    await new Promise((r) => setTimeout(r, 500));
    const follow = await rest(edge, "POST", `/v1/users/${alice.id}:follow`, { token: bob.token, body: {} });
    const res = await opened;
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes(bob.id)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    ctrl.abort();
    assert.equal(follow.status, 200);
    // the transcoder sends a JSON array, one element per message, while the stream lasts
    assert.match(text, /^\[\{"notification":\{/);
    assert.ok(text.includes(bob.id), text);
  });

  it("passes Connect and gRPC-Web through, and health-checks its upstreams", async () => {
    const u = await signUp(edge);
    const auth = { headers: { authorization: `Bearer ${u.token}` } };
    for (const transport of [
      createConnectTransport({ baseUrl: edge.httpUrl, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: edge.httpUrl, httpVersion: "1.1" }),
    ]) {
      const c = clientsFor(transport);
      assert.equal((await c.identity.getCurrentUser({}, auth)).user?.userId, u.id);
      await assert.rejects(c.identity.getCurrentUser({}), (err) => ConnectError.from(err).code === Code.Unauthenticated);
    }
    // Envoy's own view: every upstream passed its gRPC (or /healthz) health check
    const clusters = await (await fetch(`${edge.adminUrl}/clusters`)).text();
    const flags = [...clusters.matchAll(/^(\w+)::[^:]+:\d+::health_flags::(.*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.ok(flags.some((f) => f.startsWith("identity_grpc ")));
    assert.deepEqual(
      flags.filter((f) => !f.endsWith(" healthy")),
      [],
    );
  });

  it("carries gRPC from a stock client (grpc-js) with a token", async () => {
    const u = await signUp(edge);
    const def = protoLoader.loadSync("feedmesh/identity/v1/identity_service.proto", {
      includeDirs: [new URL("../proto", import.meta.url).pathname, new URL("../third_party", import.meta.url).pathname],
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const client = new pkg.feedmesh.identity.v1.IdentityService(edge.grpcUrl.replace("http://", ""), grpc.credentials.createInsecure());
    const call = (md: grpc.Metadata) =>
      new Promise<any>((resolve, reject) =>
        client.GetCurrentUser({}, md, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
      );
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${u.token}`);
    assert.equal((await call(md)).user.userId, u.id);
    await assert.rejects(call(new grpc.Metadata()), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED);
    client.close();
  });
});

describe("the edge and an expired token", () => {
  let s: TestSystem;
  let edge: Edge;
  before(async () => {
    s = await startSystem({ FEEDMESH_ACCESS_TOKEN_TTL: "1s" });
    edge = await startEdge({ httpPort: s.app.server.httpPort, grpcPort: s.app.server.grpcPort }, { clockSkewSeconds: 0 });
  });
  after(async () => {
    await edge?.stop();
    await s?.stop();
  });

  it("is refused with 401 once the token has expired", async () => {
    const u = await signUp(edge, "exp");
    assert.equal((await rest(edge, "GET", "/v1/me", { token: u.token })).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    assertError(await rest(edge, "GET", "/v1/me", { token: u.token }), 401, 16, /expired/i);
  });
});
