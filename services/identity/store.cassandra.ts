// IdentityStore on Cassandra/ScyllaDB. Usernames and emails are claimed with lightweight
// transactions (IF NOT EXISTS), so two sign-ups cannot take the same one; the user row and its
// event go in one logged batch.
import type { CassandraDb, Row } from "../platform/cassandra.js";
import type { EncodedEvent } from "../platform/events.js";
import type { IdentityStore, ProfilePatch, RefreshTokenRecord, SigningKeyRecord, UserRecord } from "./store.js";
import { UniqueViolation } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS identity_users (
     user_id bigint PRIMARY KEY, username text, email text, display_name text, bio text, avatar_media_id text,
     private boolean, password_hash text, create_time timestamp);
   CREATE TABLE IF NOT EXISTS identity_usernames (username text PRIMARY KEY, user_id bigint);
   CREATE TABLE IF NOT EXISTS identity_emails (email text PRIMARY KEY, user_id bigint);
   CREATE TABLE IF NOT EXISTS identity_refresh_tokens (
     token_hash text PRIMARY KEY, user_id bigint, family_id text, expire_time timestamp, revoked boolean);
   CREATE TABLE IF NOT EXISTS identity_refresh_families (family_id text, token_hash text, PRIMARY KEY (family_id, token_hash));
   CREATE TABLE IF NOT EXISTS identity_signing_keys (
     singleton int, kid text, private_jwk text, public_jwk text, create_time timestamp, PRIMARY KEY (singleton, create_time, kid))
     WITH CLUSTERING ORDER BY (create_time DESC, kid ASC)`,
];

/** The row that decides which replica writes the first signing key. */
const CLAIM = "first-key-claim";

const USER = "user_id, username, email, display_name, bio, avatar_media_id, private, password_hash, create_time";

function toUser(r: Row): UserRecord {
  return {
    userId: r.user_id.toString(),
    username: r.username,
    email: r.email,
    displayName: r.display_name ?? "",
    bio: r.bio ?? "",
    avatarMediaId: r.avatar_media_id ?? "",
    private: r.private ?? false,
    passwordHash: r.password_hash,
    createTime: (r.create_time as Date).getTime(),
  };
}

export class CassandraIdentityStore implements IdentityStore {
  private constructor(
    private readonly db: CassandraDb,
    private readonly refreshTtlSeconds: number,
  ) {}

  static async open(db: CassandraDb, refreshTtlSeconds = 30 * 86400): Promise<CassandraIdentityStore> {
    await db.migrate("identity", MIGRATIONS);
    return new CassandraIdentityStore(db, refreshTtlSeconds);
  }

  async scanUserIds(limit: number, cursor: string | null): Promise<{ ids: string[]; next: string | null }> {
    const res = await this.db.execute("SELECT user_id FROM identity_users", [], {
      fetchSize: limit,
      ...(cursor ? { pageState: cursor } : {}),
    });
    return { ids: res.rows.map((r) => r.user_id.toString()), next: res.pageState ?? null };
  }

  async createUser(u: UserRecord, event: EncodedEvent): Promise<void> {
    const id = BigInt(u.userId);
    if (!(await this.claim("identity_usernames", "username", u.username, id))) throw new UniqueViolation("username");
    try {
      if (!(await this.claim("identity_emails", "email", u.email, id))) throw new UniqueViolation("email");
      await this.db.batch([
        {
          query: `INSERT INTO identity_users (${USER}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          params: [id, u.username, u.email, u.displayName, u.bio, u.avatarMediaId, u.private, u.passwordHash, new Date(u.createTime)],
        },
        this.db.outbox("identity", event),
      ]);
    } catch (err) {
      // Release what this attempt claimed, so a retry (or someone else) can have it.
      await this.db.execute("DELETE FROM identity_usernames WHERE username = ? IF user_id = ?", [u.username, id]).catch(() => undefined);
      if (!(err instanceof UniqueViolation)) {
        await this.db.execute("DELETE FROM identity_emails WHERE email = ? IF user_id = ?", [u.email, id]).catch(() => undefined);
      }
      throw err;
    }
  }

  private async claim(table: string, column: string, value: string, id: bigint): Promise<boolean> {
    const r = await this.db.execute(`INSERT INTO ${table} (${column}, user_id) VALUES (?, ?) IF NOT EXISTS`, [value, id]);
    return r.wasApplied();
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const r = (await this.db.execute(`SELECT ${USER} FROM identity_users WHERE user_id = ?`, [BigInt(userId)])).first();
    return r ? toUser(r) : undefined;
  }

  async getUsers(userIds: string[]): Promise<UserRecord[]> {
    // One multi-partition IN (at most 100 keys) rather than a query per user: the driver's CPU
    // per query, not the coordinator's fan-out, is what a feed page paid for (docs/benchmarks.md).
    const out: UserRecord[] = [];
    for (let i = 0; i < userIds.length; i += 100) {
      const r = await this.db.execute(`SELECT ${USER} FROM identity_users WHERE user_id IN ?`, [userIds.slice(i, i + 100).map(BigInt)]);
      out.push(...r.rows.map(toUser));
    }
    return out;
  }

  async findByLogin(login: string): Promise<UserRecord | undefined> {
    const byName = (await this.db.execute("SELECT user_id FROM identity_usernames WHERE username = ?", [login])).first();
    const row = byName ?? (await this.db.execute("SELECT user_id FROM identity_emails WHERE email = ?", [login])).first();
    return row ? this.getUser(row.user_id.toString()) : undefined;
  }

  async updateProfile(userId: string, patch: ProfilePatch, event: (u: UserRecord) => EncodedEvent): Promise<UserRecord | undefined> {
    const current = await this.getUser(userId);
    if (!current) return undefined;
    const u = { ...current, ...patch };
    await this.db.batch([
      {
        query: "UPDATE identity_users SET display_name = ?, bio = ?, avatar_media_id = ? WHERE user_id = ?",
        params: [u.displayName, u.bio, u.avatarMediaId, BigInt(userId)],
      },
      this.db.outbox("identity", event(u)),
    ]);
    return u;
  }

  async setPrivate(userId: string, isPrivate: boolean): Promise<void> {
    // An UPDATE would create a row for an unknown user: only touch users that exist.
    await this.db.execute("UPDATE identity_users SET private = ? WHERE user_id = ? IF EXISTS", [isPrivate, BigInt(userId)]);
  }

  async saveRefreshToken(t: RefreshTokenRecord): Promise<void> {
    const ttl = Math.max(1, Math.min(this.refreshTtlSeconds, Math.ceil((t.expireTime - Date.now()) / 1000)));
    await this.db.batch([
      {
        query:
          "INSERT INTO identity_refresh_tokens (token_hash, user_id, family_id, expire_time, revoked) VALUES (?, ?, ?, ?, ?) USING TTL ?",
        params: [t.tokenHash, BigInt(t.userId), t.familyId, new Date(t.expireTime), t.revoked, ttl],
      },
      {
        query: "INSERT INTO identity_refresh_families (family_id, token_hash) VALUES (?, ?) USING TTL ?",
        params: [t.familyId, t.tokenHash, ttl],
      },
    ]);
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const r = (await this.db.execute("SELECT * FROM identity_refresh_tokens WHERE token_hash = ?", [tokenHash])).first();
    return r
      ? {
          tokenHash: r.token_hash,
          userId: r.user_id.toString(),
          familyId: r.family_id,
          expireTime: r.expire_time.getTime(),
          revoked: !!r.revoked,
        }
      : undefined;
  }

  async revokeRefreshToken(tokenHash: string): Promise<boolean> {
    const r = await this.db.execute("UPDATE identity_refresh_tokens SET revoked = true WHERE token_hash = ? IF revoked = false", [
      tokenHash,
    ]);
    return r.wasApplied();
  }

  async revokeFamily(familyId: string): Promise<void> {
    const tokens = (await this.db.execute("SELECT token_hash FROM identity_refresh_families WHERE family_id = ?", [familyId])).rows;
    await Promise.all(
      tokens.map((t) =>
        this.db.execute("UPDATE identity_refresh_tokens SET revoked = true WHERE token_hash = ? IF EXISTS", [t.token_hash]),
      ),
    );
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = (await this.db.execute("SELECT kid, private_jwk, public_jwk, create_time FROM identity_signing_keys WHERE singleton = 0"))
      .rows;
    return rows
      .filter((r) => r.kid !== CLAIM)
      .map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createTime: r.create_time.getTime() }));
  }

  async addSigningKeyIfNone(k: SigningKeyRecord): Promise<SigningKeyRecord[]> {
    // Replicas starting at once: the one that claims the first key (a transaction) writes it.
    const claim = await this.db.execute(
      "INSERT INTO identity_signing_keys (singleton, create_time, kid, private_jwk, public_jwk) VALUES (0, 0, ?, '', '') IF NOT EXISTS",
      [CLAIM],
    );
    if (claim.wasApplied()) {
      await this.db.execute(
        "INSERT INTO identity_signing_keys (singleton, create_time, kid, private_jwk, public_jwk) VALUES (0, ?, ?, ?, ?)",
        [new Date(k.createTime), k.kid, k.privateJwk, k.publicJwk],
      );
    }
    for (let i = 0; i < 50; i++) {
      const keys = await this.listSigningKeys();
      if (keys.length > 0) return keys;
      await new Promise((r) => setTimeout(r, 100)); // another replica claimed it and is writing its key
    }
    throw new Error("no signing key was written");
  }
}
