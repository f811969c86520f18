// The access token of the benchmark's calls, minted once per run as the identity service mints
// them (services/identity/tokens.ts): an ES256 key pair, the public half published as the JWKS
// that the stack server's TokenVerifier fetches, the private half signing a user's token.
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from "jose";
import { USER_AUDIENCE } from "../../services/platform/auth.js";
import { loadConfig } from "../../services/platform/config.js";

export async function mintAccessToken(userId = "1234567890123456789"): Promise<{ token: string; jwks: JSONWebKeySet }> {
  const config = loadConfig({}); // the defaults: issuer and access-token lifetime
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const kid = "bench-rpc";
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
    .setIssuer(config.FEEDMESH_ISSUER)
    .setAudience(USER_AUDIENCE)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.round(config.FEEDMESH_ACCESS_TOKEN_TTL / 1000))
    .setJti(randomUUID())
    .sign(privateKey);
  return { token, jwks };
}
