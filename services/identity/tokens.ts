// Access and refresh tokens. Access tokens are ES256 JWTs (jose) with the user id as subject,
// verified by every service against the JWKS; refresh tokens are random, stored only as a
// SHA-256 hash, single-use and rotated in families (a reused token revokes its family).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { USER_AUDIENCE } from "../platform/auth.js";
import type { IdentityStore, SigningKeyRecord } from "./store.js";

type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export interface IssuedTokens {
  accessToken: string;
  accessExpire: number;
  refreshToken: string;
  refreshExpire: number;
}

export class TokenIssuer {
  private key: { kid: string; privateKey: SigningKey; publicJwks: JWK[] } | undefined;

  constructor(
    private readonly store: IdentityStore,
    private readonly issuer: string,
    private readonly accessTtlMs: number,
    private readonly refreshTtlMs: number,
  ) {}

  /** The signing key, created and stored on first use so that restarts keep tokens valid. */
  private async signingKey() {
    if (this.key) return this.key;
    let keys = await this.store.listSigningKeys();
    if (keys.length === 0) keys = await this.store.addSigningKeyIfNone(await newKey());
    const current = keys[0]!;
    this.key = {
      kid: current.kid,
      privateKey: await importJWK(JSON.parse(current.privateJwk), "ES256"),
      publicJwks: keys.map((k) => JSON.parse(k.publicJwk) as JWK),
    };
    return this.key;
  }

  async jwks(): Promise<JWK[]> {
    return (await this.signingKey()).publicJwks;
  }

  /** Issues a token pair; familyId continues a refresh-token family, or starts one. */
  async issue(userId: string, familyId: string = randomUUID()): Promise<IssuedTokens> {
    const now = Date.now();
    const accessExpire = now + this.accessTtlMs;
    const accessToken = await this.accessToken(userId, now, accessExpire);
    const refreshToken = randomBytes(32).toString("base64url");
    const refreshExpire = now + this.refreshTtlMs;
    await this.store.saveRefreshToken({ tokenHash: hashToken(refreshToken), userId, familyId, expireTime: refreshExpire, revoked: false });
    return { accessToken, accessExpire, refreshToken, refreshExpire };
  }

  /** An access token alone (no refresh token): for the operator's tools that act as users. */
  async accessToken(userId: string, now = Date.now(), expire = now + this.accessTtlMs): Promise<string> {
    const { kid, privateKey } = await this.signingKey();
    return new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
      .setIssuer(this.issuer)
      .setAudience(USER_AUDIENCE)
      .setSubject(userId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expire / 1000))
      .setJti(randomUUID())
      .sign(privateKey);
  }
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

async function newKey(): Promise<SigningKeyRecord> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const pub = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  const priv = { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
  return { kid, privateJwk: JSON.stringify(priv), publicJwk: JSON.stringify(pub), createTime: Date.now() };
}
