// Password hashing with scrypt (node:crypto, memory-hard), and the password policy.
import { randomBytes, type ScryptOptions, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import type { FieldViolation } from "../platform/errors.js";

const N = 2 ** 15;
const r = 8;
const p = 1;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize("NFKC"), salt, KEYLEN, { ...opts, maxmem: 128 * opts.N! * opts.r! * 2 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Encodes as scrypt$N$r$p$salt$hash (base64url), so parameters can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r, p });
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, rr, pp, salt, hash] = encoded.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const want = Buffer.from(hash, "base64url");
  const got = await scrypt(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(rr), p: Number(pp) });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash to verify against when the account does not exist, so timing does not reveal it. */
export const DUMMY_HASH = hashPassword("feedmesh-dummy-password");

/** The rules beyond the contract's length limits. */
export function passwordViolations(password: string, username: string, email: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 2) out.push({ field: "password", description: "must mix at least two of lowercase, uppercase, digits and symbols" });
  const lower = password.toLowerCase();
  if (lower.includes(username.toLowerCase()) || lower.includes(email.toLowerCase().split("@")[0] ?? "\0")) {
    out.push({ field: "password", description: "must not contain the username or the email name" });
  }
  if (new Set(password).size < 4) out.push({ field: "password", description: "must use at least 4 different characters" });
  return out;
}
