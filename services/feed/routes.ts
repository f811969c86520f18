// FeedService handlers.
import type { ServiceImpl } from "@connectrpc/connect";
import type { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { HomeFeed } from "./feed.js";

export function feedRoutes(feed: HomeFeed, clients: Clients, auth: CallAuth, tokens: PageTokens): ServiceImpl<typeof FeedService> {
  return {
    async getHomeFeed(req, ctx) {
      const me = actingUser(ctx);
      const scope = `feed.home:${me}`;
      const cursor = tokens.decode<{ p: string }>(scope, req.pageToken);
      // Hydration runs as the reader, so the post service applies the reader's visibility.
      const opts = auth.asUser(ctx);
      const page = await feed.page(me, pageSize(req.pageSize, 20), cursor?.p ?? null, {
        posts: async (postIds) => (await clients.post.batchGetPosts({ postIds }, opts)).posts,
        users: async (userIds) => (await clients.identity.batchGetUsers({ userIds }, opts)).users,
      });
      return {
        items: page.items.map(({ post, author }) => ({ post, ...(author ? { author } : {}) })),
        nextPageToken: page.next ? tokens.encode(scope, { p: page.next }) : "",
      };
    },
  };
}
