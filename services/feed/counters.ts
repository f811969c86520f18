// The engagement counters of a feed page: one call per page, as the reader. Counters are an
// extra: when the engagement service fails or is slow, the page is served without them (null).
import type { CallOptions } from "@connectrpc/connect";
import type { PostCounters } from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import type { Clients } from "../platform/clients.js";
import type { Logger } from "../platform/log.js";

/** The longest a page waits for its counters (at most half of what is left of its deadline). */
const COUNTERS_TIMEOUT_MS = 2_000;

export async function pageCounters(
  clients: Clients,
  opts: CallOptions,
  log: Logger,
  postIds: string[],
): Promise<Map<string, PostCounters> | null> {
  if (postIds.length === 0) return new Map();
  const timeoutMs = Math.max(1, Math.min(COUNTERS_TIMEOUT_MS, Math.floor((opts.timeoutMs ?? COUNTERS_TIMEOUT_MS * 2) / 2)));
  try {
    const res = await clients.engagement.batchGetPostCounters({ postIds }, { ...opts, timeoutMs });
    return new Map(res.counters.map((c) => [c.postId, c]));
  } catch (err) {
    log.warn({ err, posts: postIds.length }, "feed page served without counters: the engagement service failed");
    return null;
  }
}
