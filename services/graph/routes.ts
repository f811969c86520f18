// GraphService handlers: proto in, domain call, proto out.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { FollowState, GraphService } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { actingUser, viewer } from "../platform/auth.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { Graph, Relationship } from "./graph.js";
import type { EdgeCursor, EdgePage } from "./store.js";

function toRelationship(r: Relationship) {
  return { userId: r.userId, outgoing: r.outgoing as FollowState, incoming: r.incoming as FollowState, targetPrivate: r.targetPrivate };
}

export function graphRoutes(graph: Graph, tokens: PageTokens): ServiceImpl<typeof GraphService> {
  const cursor = (scope: string, token: string) => tokens.decode<{ t: number; id: string }>(scope, token) as EdgeCursor | null;
  const out = (scope: string, page: EdgePage) => ({
    entries: page.edges.map((e) => ({ userId: e.userId, createTime: timestampFromMs(e.createTime) })),
    nextPageToken: page.next ? tokens.encode(scope, { t: page.next.t, id: page.next.id }) : "",
  });
  return {
    async follow(req, ctx) {
      return { relationship: toRelationship(await graph.follow(actingUser(ctx), req.userId)) };
    },
    async unfollow(req, ctx) {
      return { relationship: toRelationship(await graph.unfollow(actingUser(ctx), req.userId)) };
    },
    async getRelationship(req, ctx) {
      return { relationship: toRelationship(await graph.relationship(actingUser(ctx), req.userId)) };
    },
    async batchGetRelationships(req, ctx) {
      const me = actingUser(ctx);
      return { relationships: (await graph.relationships(me, req.userIds)).map(toRelationship) };
    },
    async listFollowers(req, ctx) {
      const scope = `graph.followers:${req.userId}`;
      const page = await graph.followers(viewer(ctx), req.userId, pageSize(req.pageSize, 50), cursor(scope, req.pageToken));
      const { entries, nextPageToken } = out(scope, page);
      return { followers: entries, nextPageToken };
    },
    async listFollowing(req, ctx) {
      const scope = `graph.following:${req.userId}:${req.minFollowerCount}`;
      const page = await graph.following(
        viewer(ctx),
        req.userId,
        pageSize(req.pageSize, 50),
        cursor(scope, req.pageToken),
        Number(req.minFollowerCount),
      );
      const { entries, nextPageToken } = out(scope, page);
      return { following: entries, nextPageToken };
    },
    async getFollowStats(req) {
      const [c, since] = await Promise.all([graph.counts(req.userId), graph.celebritySince(req.userId)]);
      return {
        followerCount: BigInt(c.followers),
        followingCount: BigInt(c.following),
        ...(since === null ? {} : { celebritySince: timestampFromMs(since) }),
      };
    },
    async listFollowRequests(req, ctx) {
      const me = actingUser(ctx);
      const scope = `graph.requests:${me}`;
      const { entries, nextPageToken } = out(scope, await graph.requests(me, pageSize(req.pageSize, 50), cursor(scope, req.pageToken)));
      return { requests: entries, nextPageToken };
    },
    async approveFollowRequest(req, ctx) {
      await graph.approve(actingUser(ctx), req.userId);
      return {};
    },
    async rejectFollowRequest(req, ctx) {
      await graph.reject(actingUser(ctx), req.userId);
      return {};
    },
    async removeFollower(req, ctx) {
      await graph.removeFollower(actingUser(ctx), req.userId);
      return {};
    },
    async getPrivacySettings(_req, ctx) {
      return { settings: { private: await graph.isPrivate(actingUser(ctx)) } };
    },
    async updatePrivacySettings(req, ctx) {
      const me = actingUser(ctx);
      await graph.setPrivate(me, req.settings?.private ?? false);
      return { settings: { private: await graph.isPrivate(me) } };
    },
  };
}
