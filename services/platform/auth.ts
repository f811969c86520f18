// Who is calling. A user is the subject of an access token signed by the identity service
// (verified against its JWKS); a service is the subject of a short-lived internal token signed
// with the shared service key. Nothing else is trusted: not a header, not a field of a request.
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify, SignJWT } from "jose";
import { permissionDenied, unauthenticated } from "./errors.js";

export type Principal = { kind: "user"; userId: string } | { kind: "service"; name: string };

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "the verified caller" });
/** The raw bearer token of the call, so that a service can call another on the user's behalf. */
export const bearerKey = createContextKey<string | undefined>(undefined, { description: "the caller's bearer token" });

export const USER_AUDIENCE = "feedmesh";
const SERVICE_AUDIENCE = "feedmesh-internal";

/** RPCs callable without a token. */
export const PUBLIC_METHODS = new Set([
  "feedmesh.identity.v1.IdentityService/SignUp",
  "feedmesh.identity.v1.IdentityService/Login",
  "feedmesh.identity.v1.IdentityService/Refresh",
  "feedmesh.identity.v1.IdentityService/Logout",
  "feedmesh.identity.v1.IdentityService/GetJwks",
  "grpc.health.v1.Health/Check",
  "grpc.health.v1.Health/Watch",
  "grpc.health.v1.Health/List",
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
]);

/** Fetches the identity service's current JWKS. */
export type JwksSource = () => Promise<JSONWebKeySet>;

/** How many verified tokens are remembered by default (about 0.5 KB each). */
export const VERIFIED_TOKENS = 50_000;

export class TokenVerifier {
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  /**
   * Tokens that passed verification, with their principal: a user's token is verified once, not
   * on every call it makes through the mesh (an ES256 verification costs ~0.2 ms of CPU, more than
   * a whole cached feed page's own work). Only a successful check is remembered, never past the
   * token's expiry. The JWKS is refreshed every refresh period (5 minutes), by cached calls too
   * (in the background), and a refresh that withdraws a signing key clears the cache: a withdrawn
   * key stops verifying at most one refresh period (and one JWKS fetch) after the previous
   * refresh, cached or not. Sized for the active users (`maxVerified`, oldest first out): one
   * evicted before its next call pays one verification again.
   */
  private readonly verified = new Map<string, { token: string; principal: Principal; until: number }>();
  private fetchedAt = 0;
  private kids = new Set<string | undefined>();
  /** Bumped whenever the cache is cleared, so that a check that raced the clearing is not kept. */
  private generation = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly serviceKey: Buffer,
    private readonly source: JwksSource,
    private readonly refreshMs = 5 * 60_000,
    private readonly maxVerified = VERIFIED_TOKENS,
  ) {}

  async verify(token: string): Promise<Principal> {
    // Keyed by the token's last 40 characters (its signature's end): hashing a whole JWT for the
    // lookup cost ~7 µs a call; the full token is compared on a hit.
    const key = token.slice(-40);
    const hit = this.verified.get(key);
    const now = Date.now();
    if (hit && hit.token === token && hit.until > now) {
      // Cached calls keep the keys fresh too: a refresh that withdraws a key clears the cache.
      if (this.jwks && now - this.fetchedAt > this.refreshMs) void this.keys(false).catch(() => {});
      return hit.principal;
    }
    const generation = this.generation;
    const { principal, exp } = await this.check(token);
    this.verified.delete(key);
    if (generation !== this.generation) return principal; // a key was withdrawn meanwhile: not remembered
    if (this.verified.size >= this.maxVerified) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, { token, principal, until: exp * 1000 });
    return principal;
  }

  private async check(token: string): Promise<{ principal: Principal; exp: number }> {
    const kind = tokenAudience(token);
    if (kind === SERVICE_AUDIENCE) {
      const { payload } = await jwtVerify(token, this.serviceKey, {
        issuer: this.issuer,
        audience: SERVICE_AUDIENCE,
        algorithms: ["HS256"],
      }).catch(() => {
        throw unauthenticated("invalid service token");
      });
      return { principal: { kind: "service", name: String(payload.sub) }, exp: payload.exp ?? 0 };
    }
    try {
      const { payload } = await jwtVerify(token, await this.keys(false), {
        issuer: this.issuer,
        audience: USER_AUDIENCE,
        algorithms: ["ES256"],
      });
      if (typeof payload.sub !== "string" || !/^\d{1,20}$/.test(payload.sub)) throw unauthenticated("token has no valid subject");
      return { principal: { kind: "user", userId: payload.sub }, exp: payload.exp ?? 0 };
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY" && Date.now() - this.fetchedAt > 5_000) {
        // A key we have not seen: the identity service may have rotated. Refresh once and retry.
        await this.keys(true);
        return this.check(token);
      }
      throw unauthenticated(`invalid access token: ${describeJoseError(err)}`);
    }
  }

  private async keys(force: boolean): Promise<ReturnType<typeof createLocalJWKSet>> {
    if (!this.jwks || force || Date.now() - this.fetchedAt > this.refreshMs) {
      this.inflight ??= this.source()
        .then((set) => {
          const kids = new Set(set.keys.map((k) => k.kid));
          if ([...this.kids].some((k) => !kids.has(k))) {
            this.verified.clear(); // a key was withdrawn
            this.generation++;
          }
          this.kids = kids;
          this.jwks = createLocalJWKSet(set);
          this.fetchedAt = Date.now();
        })
        .finally(() => {
          this.inflight = undefined;
        });
      await this.inflight.catch((err) => {
        if (!this.jwks) throw err; // keep serving with the last known keys if a refresh fails
      });
    }
    if (!this.jwks) throw unauthenticated("no verification keys available");
    return this.jwks;
  }
}

function tokenAudience(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { aud?: unknown };
    return typeof payload.aud === "string" ? payload.aud : undefined;
  } catch {
    return undefined;
  }
}

function describeJoseError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === "ERR_JWT_EXPIRED") return "expired";
  if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return "bad signature";
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") return (err as Error).message;
  if (code === "ERR_JWKS_NO_MATCHING_KEY") return "unknown signing key";
  return code === undefined ? "malformed" : "malformed or unsupported";
}

/** Mints the short-lived token a service presents to another service. */
export function mintServiceToken(issuer: string, key: Buffer, service: string, ttlSeconds = 300): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(issuer)
    .setAudience(SERVICE_AUDIENCE)
    .setSubject(service)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}

/** The verified caller; UNAUTHENTICATED if the call carries no valid credential. */
export function principal(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw unauthenticated("this call needs an access token: send 'authorization: Bearer <token>'");
  return p;
}

/** The user the call acts as. Services cannot act as users on their own. */
export function actingUser(ctx: HandlerContext): string {
  const p = principal(ctx);
  if (p.kind !== "user") throw permissionDenied("this RPC acts as a user; a service cannot call it on its own");
  return p.userId;
}

/** The viewing user, or null for a service (which sees everything it is allowed to ask for). */
export function viewer(ctx: HandlerContext): string | null {
  const p = principal(ctx);
  return p.kind === "user" ? p.userId : null;
}
