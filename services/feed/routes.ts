// FeedService handlers.
import type { ServiceImpl } from "@connectrpc/connect";
import type { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import type { Logger } from "../platform/log.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import type { FeedReader } from "./read.js";
import { ServiceSources } from "./sources.js";
import { binaryWire, encodePage, homeFeedResponse } from "./splice.js";

export function feedRoutes(
  reader: FeedReader,
  clients: Clients,
  auth: CallAuth,
  tokens: PageTokens,
  celebrityThreshold: number,
  log: Logger,
): ServiceImpl<typeof FeedService> {
  return {
    async getHomeFeed(req, ctx) {
      const me = actingUser(ctx);
      const scope = `feed.home:${me}`;
      const cursor = tokens.decode<{ p: string }>(scope, req.pageToken);
      const sources = new ServiceSources(clients, auth, log, celebrityThreshold, me, auth.asUser(ctx));
      const page = await reader.page(me, pageSize(req.pageSize, 20), cursor?.p ?? null, sources);
      const next = page.next ? tokens.encode(scope, { p: page.next }) : "";
      return homeFeedResponse(encodePage(page.items, next), next, binaryWire(ctx));
    },
  };
}
