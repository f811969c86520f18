// The identity service's storage port. Adapters: store.sqlite.ts (embedded); more to come.
import type { EncodedEvent } from "../platform/events.js";

export interface UserRecord {
  userId: string;
  username: string;
  email: string;
  displayName: string;
  bio: string;
  avatarMediaId: string;
  private: boolean;
  passwordHash: string;
  createTime: number;
}

export type ProfilePatch = Partial<Pick<UserRecord, "displayName" | "bio" | "avatarMediaId">>;

export interface RefreshTokenRecord {
  tokenHash: string;
  userId: string;
  familyId: string;
  expireTime: number;
  revoked: boolean;
}

export interface SigningKeyRecord {
  kid: string;
  privateJwk: string;
  publicJwk: string;
  createTime: number;
}

/** Raised by createUser when the username or the email is taken. */
export class UniqueViolation extends Error {
  constructor(readonly field: "username" | "email") {
    super(`${field} is taken`);
  }
}

export interface IdentityStore {
  /** Creates the user and appends its event atomically; throws UniqueViolation on a clash. */
  createUser(user: UserRecord, event: EncodedEvent): Promise<void>;
  getUser(userId: string): Promise<UserRecord | undefined>;
  getUsers(userIds: string[]): Promise<UserRecord[]>;
  /** Every user id, a page at a time, in no particular order; `cursor` is the previous page's `next` (tools). */
  scanUserIds(limit: number, cursor: string | null): Promise<{ ids: string[]; next: string | null }>;
  /** Finds a user by lowercase username or email. */
  findByLogin(login: string): Promise<UserRecord | undefined>;
  /** Applies the patch and appends the event atomically; returns the updated user. */
  updateProfile(userId: string, patch: ProfilePatch, event: (u: UserRecord) => EncodedEvent): Promise<UserRecord | undefined>;
  setPrivate(userId: string, isPrivate: boolean): Promise<void>;

  saveRefreshToken(token: RefreshTokenRecord): Promise<void>;
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token revoked; returns false if it already was (a reuse). */
  revokeRefreshToken(tokenHash: string): Promise<boolean>;
  revokeFamily(familyId: string): Promise<void>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Adds a key unless one exists already; returns the keys after the call. */
  addSigningKeyIfNone(key: SigningKeyRecord): Promise<SigningKeyRecord[]>;
}
