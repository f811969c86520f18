// The in-process transport runs the wrapped handlers directly: the interceptors still apply
// (authentication, validation, deadlines, error mapping), answers are complete messages, and
// the verified-token cache never outlives a token.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, isMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError, createClient, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { GetUserRequestSchema, IdentityService, UserSchema } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { principal, TokenVerifier, USER_AUDIENCE } from "./auth.js";
import { notFound } from "./errors.js";
import { createLogger } from "./log.js";
import { wrapService } from "./middleware.js";
import { registration } from "./service.js";
import { createLocalTransport } from "./transport.local.js";

const ISSUER = "feedmesh-test";
const { publicKey, privateKey } = await generateKeyPair("ES256");
const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
const token = (sub: string, ttlSeconds: number) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience(USER_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(privateKey);
const verifier = () => new TokenVerifier(ISSUER, Buffer.alloc(32, 1), async () => ({ keys: [jwk] }));

/** An identity service whose GetUser answers with the caller, or NOT_FOUND, or waits for its deadline. */
function wrapped() {
  const impl = {
    ...Object.fromEntries(
      IdentityService.methods.map((m) => [m.localName, () => Promise.reject(new ConnectError("no", Code.Unimplemented))]),
    ),
    async getUser(req: { userId: string }, ctx: HandlerContext) {
      if (req.userId === "404") throw notFound("user 404");
      if (req.userId === "999") await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      const p = principal(ctx);
      return { user: { userId: req.userId, displayName: p.kind === "user" ? p.userId : p.name } };
    },
  };
  const deps = {
    log: createLogger("silent"),
    verifier: verifier(),
    validator: createValidator(),
    defaultDeadlineMs: 5_000,
    maxDeadlineMs: 10_000,
  };
  return wrapService(registration(IdentityService, impl as never), deps);
}

const transport = () => createClient(IdentityService, createLocalTransport([wrapped()]));

describe("in-process transport", () => {
  const client = transport();

  it("answers with a complete message, as the verified caller", async () => {
    const res = await client.getUser({ userId: "7" }, { headers: { authorization: `Bearer ${await token("42", 60)}` } });
    assert.ok(isMessage(res.user, UserSchema));
    assert.equal(res.user?.displayName, "42");
    assert.equal(res.user?.username, "", "fields the handler left out have their defaults");
  });

  it("keeps the interceptors: no token, a bad token, errors, deadlines", async () => {
    const auth = { authorization: `Bearer ${await token("42", 60)}` };
    const code = (p: Promise<unknown>) =>
      p.then(
        () => Code[0],
        (err) => Code[ConnectError.from(err).code],
      );
    assert.equal(await code(client.getUser({ userId: "7" })), "Unauthenticated");
    assert.equal(await code(client.getUser({ userId: "7" }, { headers: { authorization: "Bearer x.y.z" } })), "Unauthenticated");
    assert.equal(await code(client.getUser({ userId: "404" }, { headers: auth })), "NotFound");
    assert.equal(await code(client.getUser({ userId: "999" }, { headers: auth, timeoutMs: 50 })), "DeadlineExceeded");
    const abort = new AbortController();
    const call = code(client.getUser({ userId: "999" }, { headers: auth, signal: abort.signal }));
    abort.abort();
    assert.equal(await call, "Canceled");
  });
});

describe("validation", () => {
  it("checks requests from other processes, not those of modules in this process", async () => {
    const auth = { authorization: `Bearer ${await token("42", 60)}` };
    const local = transport();
    assert.equal((await local.getUser({ userId: "not-an-id" }, { headers: auth })).user?.userId, "not-an-id");
    // The same handler behind the wrapper, called as a server would (no in-process mark).
    const handler = wrapped().impl as unknown as { getUser: (req: unknown, ctx: HandlerContext) => Promise<unknown> };
    const ctx = createHandlerContext({
      service: IdentityService,
      method: IdentityService.method.getUser,
      protocolName: "grpc",
      requestMethod: "POST",
      url: "/feedmesh.identity.v1.IdentityService/GetUser",
      requestHeader: auth,
    });
    await assert.rejects(
      handler.getUser(create(GetUserRequestSchema, { userId: "not-an-id" }), ctx),
      (err: ConnectError) => err.code === Code.InvalidArgument && /user_id/.test(err.rawMessage),
    );
  });
});

describe("verified-token cache", () => {
  it("never accepts a token past its expiry, even one it verified before", async () => {
    const v = verifier();
    // Expires 1–2 s from now (exp is in whole seconds): never within the moment the checks take.
    const t = await token("42", 2);
    const exp = JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString()).exp as number;
    assert.deepEqual(await v.verify(t), { kind: "user", userId: "42" });
    assert.deepEqual(await v.verify(t), { kind: "user", userId: "42" });
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 100));
    await assert.rejects(v.verify(t), (err: ConnectError) => err.code === Code.Unauthenticated && /expired/.test(err.rawMessage));
  });

  it("stops accepting a cached token once a JWKS refresh withdraws its signing key", async () => {
    let keys = [jwk];
    let fetches = 0;
    const v = new TokenVerifier(
      ISSUER,
      Buffer.alloc(32, 1),
      async () => {
        fetches++;
        return { keys };
      },
      300,
    );
    const t = await token("42", 60);
    assert.deepEqual(await v.verify(t), { kind: "user", userId: "42" });
    keys = [];
    // Within the refresh period the verification is remembered (that is the cache's point) ...
    assert.deepEqual(await v.verify(t), { kind: "user", userId: "42" });
    assert.equal(fetches, 1);
    await new Promise((r) => setTimeout(r, 350));
    // ... past it, a cached call refreshes the keys in the background (and is still answered) ...
    await v.verify(t);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fetches, 2);
    // ... and the refresh withdrew k1: the token is checked again, and refused.
    await assert.rejects(v.verify(t), (err: ConnectError) => err.code === Code.Unauthenticated && /signing key/.test(err.rawMessage));
  });

  it("forgets every cached token when a refresh withdraws a key, and only then", async () => {
    let keys = [jwk];
    const v = new TokenVerifier(ISSUER, Buffer.alloc(32, 1), async () => ({ keys }), 300);
    const [a, b] = [await token("42", 60), await token("43", 60)];
    assert.deepEqual(await v.verify(a), { kind: "user", userId: "42" });
    assert.deepEqual(await v.verify(b), { kind: "user", userId: "43" });
    await new Promise((r) => setTimeout(r, 350));
    await v.verify(a); // a refresh that withdraws nothing keeps the cache: still verified, k1 still published
    await new Promise((r) => setTimeout(r, 20));
    keys = [];
    assert.deepEqual(await v.verify(b), { kind: "user", userId: "43" }); // cached, the refresh not due
    await new Promise((r) => setTimeout(r, 350));
    await v.verify(b); // due: the refresh runs and withdraws k1
    await new Promise((r) => setTimeout(r, 20));
    for (const t of [a, b]) await assert.rejects(v.verify(t), (err: ConnectError) => err.code === Code.Unauthenticated);
  });

  it("tells tokens apart: a tampered copy of a verified token is refused", async () => {
    const v = verifier();
    const t = await token("42", 60);
    await v.verify(t);
    const [h, p, s] = t.split(".");
    const forged = [
      h,
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "43" })).toString("base64url"),
      s,
    ].join(".");
    await assert.rejects(v.verify(forged), (err: ConnectError) => err.code === Code.Unauthenticated);
    assert.deepEqual(await v.verify(t), { kind: "user", userId: "42" });
  });
});
