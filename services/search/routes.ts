// SearchService handlers: proto in, domain call, proto out. Posts and users come from their own
// services, asked as the caller, so what the caller may not see never appears.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type SearchService, SearchSort } from "../../gen/ts/feedmesh/search/v1/search_service_pb.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import { queryTerms, type Search, userPrefix } from "./search.js";

export function searchRoutes(search: Search, clients: Clients, auth: CallAuth, tokens: PageTokens): ServiceImpl<typeof SearchService> {
  /** The posts among the ids the caller may see (live, and not of a private account the caller does not follow). */
  const visible = (ctx: HandlerContext) => async (postIds: string[]) =>
    postIds.length === 0 ? [] : (await clients.post.batchGetPosts({ postIds }, auth.asUser(ctx))).posts;

  return {
    async searchPosts(req, ctx) {
      actingUser(ctx); // results depend on who asks: a user, never a service
      const terms = queryTerms(req.query);
      const limit = pageSize(req.pageSize, 20);
      if (req.sort === SearchSort.LIKES) {
        const scope = `search.posts:likes:${terms.join(" ")}`;
        const after = tokens.decode<{ l: number; p: string }>(scope, req.pageToken);
        const found = await search.postsByLikes(terms, limit, after, visible(ctx));
        return { posts: found.posts, nextPageToken: found.next ? tokens.encode(scope, { l: found.next.l, p: found.next.p }) : "" };
      }
      const scope = `search.posts:date:${terms.join(" ")}`;
      const found = await search.postsByDate(terms, limit, tokens.decode<{ p: string }>(scope, req.pageToken)?.p ?? null, visible(ctx));
      return { posts: found.posts, nextPageToken: found.next ? tokens.encode(scope, { p: found.next }) : "" };
    },
    async searchUsers(req, ctx) {
      actingUser(ctx);
      const prefix = userPrefix(req.query);
      const scope = `search.users:${prefix}`;
      const found = await search.users(prefix, pageSize(req.pageSize, 20), tokens.decode<{ u: string }>(scope, req.pageToken)?.u ?? null);
      const ids = found.users.map((u) => u.userId);
      const profiles = ids.length === 0 ? [] : (await clients.identity.batchGetUsers({ userIds: ids }, auth.asUser(ctx))).users;
      const byId = new Map(profiles.map((u) => [u.userId, u]));
      return {
        users: ids.flatMap((id) => byId.get(id) ?? []),
        nextPageToken: found.next ? tokens.encode(scope, { u: found.next }) : "",
      };
    },
  };
}
