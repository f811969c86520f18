// IdentityStore on the embedded SQLite database.
import type { EncodedEvent } from "../platform/events.js";
import { col, type EmbeddedDb, ID_LIST, type Row } from "../platform/sqlite.js";
import type { IdentityStore, ProfilePatch, RefreshTokenRecord, SigningKeyRecord, UserRecord } from "./store.js";
import { UniqueViolation } from "./store.js";

const MIGRATIONS = [
  `CREATE TABLE identity_users (
     user_id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT NOT NULL UNIQUE,
     display_name TEXT NOT NULL, bio TEXT NOT NULL, avatar_media_id TEXT NOT NULL,
     private INTEGER NOT NULL DEFAULT 0, password_hash TEXT NOT NULL, create_time INTEGER NOT NULL);
   CREATE TABLE identity_refresh_tokens (
     token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, family_id TEXT NOT NULL,
     expire_time INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
   CREATE INDEX identity_refresh_tokens_family ON identity_refresh_tokens (family_id);
   CREATE TABLE identity_signing_keys (
     kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, create_time INTEGER NOT NULL);`,
];

const USER_COLUMNS = "user_id, username, email, display_name, bio, avatar_media_id, private, password_hash, create_time";

function toUser(r: Row): UserRecord {
  return {
    userId: col.id(r.user_id),
    username: col.str(r.username),
    email: col.str(r.email),
    displayName: col.str(r.display_name),
    bio: col.str(r.bio),
    avatarMediaId: col.str(r.avatar_media_id),
    private: col.bool(r.private),
    passwordHash: col.str(r.password_hash),
    createTime: col.num(r.create_time),
  };
}

export class SqliteIdentityStore implements IdentityStore {
  constructor(private readonly db: EmbeddedDb) {
    db.migrate("identity", MIGRATIONS);
  }

  async createUser(u: UserRecord, event: EncodedEvent): Promise<void> {
    this.db.tx(() => {
      if (this.db.get("SELECT 1 FROM identity_users WHERE username = ?", u.username)) throw new UniqueViolation("username");
      if (this.db.get("SELECT 1 FROM identity_users WHERE email = ?", u.email)) throw new UniqueViolation("email");
      this.db.run(
        `INSERT INTO identity_users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        BigInt(u.userId),
        u.username,
        u.email,
        u.displayName,
        u.bio,
        u.avatarMediaId,
        u.private ? 1 : 0,
        u.passwordHash,
        u.createTime,
      );
      this.db.appendEvent(event.topic, event.key, event.payload, event.headers);
    });
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const r = this.db.get(`SELECT ${USER_COLUMNS} FROM identity_users WHERE user_id = ?`, BigInt(userId));
    return r && toUser(r);
  }

  async getUsers(userIds: string[]): Promise<UserRecord[]> {
    if (userIds.length === 0) return [];
    const rows = this.db.all(`SELECT ${USER_COLUMNS} FROM identity_users WHERE user_id IN ${ID_LIST}`, JSON.stringify(userIds));
    return rows.map(toUser);
  }

  async scanUserIds(limit: number, cursor: string | null): Promise<{ ids: string[]; next: string | null }> {
    const rows = this.db.all(
      "SELECT user_id FROM identity_users WHERE user_id > ? ORDER BY user_id LIMIT ?",
      BigInt(cursor ?? "-1"),
      limit,
    );
    const ids = rows.map((r) => col.id(r.user_id));
    return { ids, next: ids.length === limit ? ids.at(-1)! : null };
  }

  async findByLogin(login: string): Promise<UserRecord | undefined> {
    const r = this.db.get(`SELECT ${USER_COLUMNS} FROM identity_users WHERE username = ? OR email = ?`, login, login);
    return r && toUser(r);
  }

  async updateProfile(userId: string, patch: ProfilePatch, event: (u: UserRecord) => EncodedEvent): Promise<UserRecord | undefined> {
    return this.db.tx(() => {
      const r = this.db.get(`SELECT ${USER_COLUMNS} FROM identity_users WHERE user_id = ?`, BigInt(userId));
      if (!r) return undefined;
      const u = { ...toUser(r), ...patch };
      this.db.run(
        "UPDATE identity_users SET display_name = ?, bio = ?, avatar_media_id = ? WHERE user_id = ?",
        u.displayName,
        u.bio,
        u.avatarMediaId,
        BigInt(userId),
      );
      const e = event(u);
      this.db.appendEvent(e.topic, e.key, e.payload, e.headers);
      return u;
    });
  }

  async setPrivate(userId: string, isPrivate: boolean): Promise<void> {
    this.db.run("UPDATE identity_users SET private = ? WHERE user_id = ?", isPrivate ? 1 : 0, BigInt(userId));
  }

  async saveRefreshToken(t: RefreshTokenRecord): Promise<void> {
    this.db.run(
      "INSERT INTO identity_refresh_tokens (token_hash, user_id, family_id, expire_time, revoked) VALUES (?, ?, ?, ?, ?)",
      t.tokenHash,
      BigInt(t.userId),
      t.familyId,
      t.expireTime,
      t.revoked ? 1 : 0,
    );
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const r = this.db.get("SELECT * FROM identity_refresh_tokens WHERE token_hash = ?", tokenHash);
    return (
      r && {
        tokenHash: col.str(r.token_hash),
        userId: col.id(r.user_id),
        familyId: col.str(r.family_id),
        expireTime: col.num(r.expire_time),
        revoked: col.bool(r.revoked),
      }
    );
  }

  async revokeRefreshToken(tokenHash: string): Promise<boolean> {
    return this.db.run("UPDATE identity_refresh_tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0", tokenHash).changes === 1;
  }

  async revokeFamily(familyId: string): Promise<void> {
    this.db.run("UPDATE identity_refresh_tokens SET revoked = 1 WHERE family_id = ?", familyId);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.db.all("SELECT * FROM identity_signing_keys ORDER BY create_time DESC").map((r) => ({
      kid: col.str(r.kid),
      privateJwk: col.str(r.private_jwk),
      publicJwk: col.str(r.public_jwk),
      createTime: col.num(r.create_time),
    }));
  }

  async addSigningKeyIfNone(k: SigningKeyRecord): Promise<SigningKeyRecord[]> {
    this.db.tx(() => {
      if (this.db.get("SELECT 1 FROM identity_signing_keys")) return;
      this.db.run(
        "INSERT INTO identity_signing_keys (kid, private_jwk, public_jwk, create_time) VALUES (?, ?, ?, ?)",
        k.kid,
        k.privateJwk,
        k.publicJwk,
        k.createTime,
      );
    });
    return this.listSigningKeys();
  }
}
