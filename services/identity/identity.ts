// The identity domain: accounts, credentials and tokens.

import { alreadyExists, invalidArgument, notFound, unauthenticated } from "../platform/errors.js";
import { encodeEvent } from "../platform/events.js";
import { ids } from "../platform/ids.js";
import { DUMMY_HASH, hashPassword, passwordViolations, verifyPassword } from "./password.js";
import type { IdentityStore, ProfilePatch, UserRecord } from "./store.js";
import { UniqueViolation } from "./store.js";
import { hashToken, type IssuedTokens, type TokenIssuer } from "./tokens.js";

export interface SignUpInput {
  username: string;
  email: string;
  password: string;
  displayName: string;
}

export class Identity {
  constructor(
    private readonly store: IdentityStore,
    readonly tokens: TokenIssuer,
  ) {}

  async signUp(input: SignUpInput): Promise<{ user: UserRecord; tokens: IssuedTokens }> {
    const username = input.username.toLowerCase();
    const email = input.email.toLowerCase();
    const violations = passwordViolations(input.password, username, email);
    if (violations.length > 0) throw invalidArgument(violations);
    const user: UserRecord = {
      userId: ids.next(),
      username,
      email,
      displayName: input.displayName || username,
      bio: "",
      avatarMediaId: "",
      private: false,
      passwordHash: await hashPassword(input.password),
      createTime: Date.now(),
    };
    const event = encodeEvent("users", user.userId, {
      event: { case: "created", value: { userId: user.userId, username, displayName: user.displayName } },
    });
    try {
      await this.store.createUser(user, event);
    } catch (err) {
      if (err instanceof UniqueViolation) throw alreadyExists(`an account with this ${err.field}`);
      throw err;
    }
    return { user, tokens: await this.tokens.issue(user.userId) };
  }

  async login(login: string, password: string): Promise<{ user: UserRecord; tokens: IssuedTokens }> {
    const user = await this.store.findByLogin(login.toLowerCase());
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH));
    if (!user || !ok) throw unauthenticated("wrong username, email or password");
    return { user, tokens: await this.tokens.issue(user.userId) };
  }

  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const record = await this.store.getRefreshToken(hashToken(refreshToken));
    if (!record || record.expireTime < Date.now()) throw unauthenticated("the refresh token is unknown or expired; log in again");
    if (!(await this.store.revokeRefreshToken(record.tokenHash))) {
      // A rotated token presented again: it may have been stolen. End the whole session family.
      await this.store.revokeFamily(record.familyId);
      throw unauthenticated("the refresh token was already used; log in again");
    }
    return this.tokens.issue(record.userId, record.familyId);
  }

  async logout(refreshToken: string): Promise<void> {
    const record = await this.store.getRefreshToken(hashToken(refreshToken));
    if (record) await this.store.revokeFamily(record.familyId);
  }

  async getUser(userId: string): Promise<UserRecord> {
    const user = await this.store.getUser(userId);
    if (!user) throw notFound(`user ${userId}`);
    return user;
  }

  /** The users found, in the order asked, without duplicates. */
  async getUsers(userIds: string[]): Promise<UserRecord[]> {
    const found = new Map((await this.store.getUsers([...new Set(userIds)])).map((u) => [u.userId, u]));
    return [...new Set(userIds)].flatMap((id) => found.get(id) ?? []);
  }

  async updateProfile(userId: string, patch: ProfilePatch): Promise<UserRecord> {
    const user = await this.store.updateProfile(userId, patch, (u) =>
      encodeEvent("users", u.userId, {
        event: { case: "updated", value: { userId: u.userId, username: u.username, displayName: u.displayName } },
      }),
    );
    if (!user) throw notFound(`user ${userId}`);
    return user;
  }

  setPrivate(userId: string, isPrivate: boolean): Promise<void> {
    return this.store.setPrivate(userId, isPrivate);
  }
}
