// Opaque page tokens: the cursor state, bound to the RPC and the caller, signed with HMAC so a
// client can neither forge nor reuse one elsewhere. A bad token is INVALID_ARGUMENT on page_token.
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { invalidField } from "./errors.js";

export class PageTokens {
  /** Imported once: an HMAC keyed with a raw Buffer imports the key on every call (4× the cost). */
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** Encodes a cursor for a scope such as "feed.GetHomeFeed:<user id>". */
  encode(scope: string, cursor: Record<string, string | number>): string {
    const body = Buffer.from(JSON.stringify(cursor)).toString("base64url");
    return `${body}.${this.sign(scope, body)}`;
  }

  /** Decodes a token produced by encode for the same scope; "" means the first page (null). */
  decode<T extends Record<string, string | number>>(scope: string, token: string, field = "page_token"): T | null {
    if (token === "") return null;
    const bad = () => invalidField(field, "malformed, expired or issued for another request; start again from the first page");
    const [body, sig, extra] = token.split(".");
    if (!body || !sig || extra !== undefined) throw bad();
    const want = Buffer.from(this.sign(scope, body));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw bad();
    try {
      const value: unknown = JSON.parse(Buffer.from(body, "base64url").toString());
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad();
      return value as T;
    } catch {
      throw bad();
    }
  }

  private sign(scope: string, body: string): string {
    return createHmac("sha256", this.key).update(scope).update("\0").update(body).digest("base64url").slice(0, 22);
  }
}

/** Reads page_size with a default; the upper bound is enforced by the contract's validation rules. */
export function pageSize(requested: number, dflt: number): number {
  return requested > 0 ? requested : dflt;
}
