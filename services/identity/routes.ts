// IdentityService handlers: proto in, domain call, proto out.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Client, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type IdentityService,
  type TokenPair,
  TokenPairSchema,
  type User,
  UserSchema,
} from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { type MediaService, MediaState } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import type { FeedModelWrites } from "../feed/readmodel.safe.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth } from "../platform/clients.js";
import { invalidField } from "../platform/errors.js";
import type { Identity } from "./identity.js";
import type { ProfilePatch, UserRecord } from "./store.js";
import type { IssuedTokens } from "./tokens.js";

export function toUser(u: UserRecord): User {
  return create(UserSchema, {
    userId: u.userId,
    username: u.username,
    displayName: u.displayName,
    bio: u.bio,
    avatarMediaId: u.avatarMediaId,
    private: u.private,
    createTime: timestampFromMs(u.createTime),
  });
}

function toTokens(t: IssuedTokens): TokenPair {
  return create(TokenPairSchema, {
    accessToken: t.accessToken,
    accessTokenExpireTime: timestampFromMs(t.accessExpire),
    refreshToken: t.refreshToken,
    refreshTokenExpireTime: timestampFromMs(t.refreshExpire),
    tokenType: "Bearer",
  });
}

const PROFILE_FIELDS = ["display_name", "bio", "avatar_media_id"] as const;

export function identityRoutes(
  identity: Identity,
  media: Client<typeof MediaService>,
  auth: CallAuth,
  model: FeedModelWrites,
): ServiceImpl<typeof IdentityService> {
  /** An avatar must be a photo the caller uploaded and completed. */
  async function checkAvatar(mediaId: string, userId: string, ctx: HandlerContext): Promise<void> {
    if (mediaId === "") return;
    const { media: m } = await media.getMedia({ mediaId }, auth.asUser(ctx));
    const usable = m && m.ownerId === userId && (m.state === MediaState.PROCESSING || m.state === MediaState.READY);
    if (!usable || !m.contentType.startsWith("image/")) {
      throw invalidField("avatar_media_id", "must be a completed photo upload of yours");
    }
  }

  return {
    async signUp(req) {
      const { user, tokens } = await identity.signUp(req);
      return { user: toUser(user), tokens: toTokens(tokens) };
    },
    async login(req) {
      const { user, tokens } = await identity.login(req.login, req.password);
      return { user: toUser(user), tokens: toTokens(tokens) };
    },
    async refresh(req) {
      return { tokens: toTokens(await identity.refresh(req.refreshToken)) };
    },
    async logout(req) {
      await identity.logout(req.refreshToken);
      return {};
    },
    async getJwks() {
      return { keys: (await identity.tokens.jwks()) as never };
    },
    async getUser(req) {
      return { user: toUser(await identity.getUser(req.userId)) };
    },
    async getCurrentUser(_req, ctx) {
      const user = await identity.getUser(actingUser(ctx));
      return { user: toUser(user), email: user.email };
    },
    async batchGetUsers(req) {
      return { users: (await identity.getUsers(req.userIds)).map(toUser) };
    },
    async updateProfile(req, ctx) {
      const userId = actingUser(ctx);
      const mask = req.updateMask.length > 0 ? req.updateMask : PROFILE_FIELDS;
      const patch: ProfilePatch = {};
      if (mask.includes("display_name")) patch.displayName = req.displayName;
      if (mask.includes("bio")) patch.bio = req.bio;
      if (mask.includes("avatar_media_id")) {
        await checkAvatar(req.avatarMediaId, userId, ctx);
        patch.avatarMediaId = req.avatarMediaId;
      }
      const user = toUser(await identity.updateProfile(userId, patch));
      // The home feed's read model shows the new profile from the next read on.
      await model.write.putUsers([{ id: userId, bytes: toBinary(UserSchema, user) }], true);
      return { user };
    },
  };
}
