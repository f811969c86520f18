// `feedmesh rebuild-read-model`: warms the home feed's read model from the stores after Redis was
// flushed or lost, or before a cold start takes traffic. It scans every user id in the identity
// store and reads each user's first home-feed page(s) from a running feed target, as that user
// (an access token signed with the identity service's key): each read takes the slow path through
// the stores once and fills the reader's feed, the posts' bodies, the authors' profiles, the
// counts, the like states and the celebrity lists, exactly as a reader's first read would. A
// progress line goes to stderr every second; the result is one JSON line on stdout.
import { createClient } from "@connectrpc/connect";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { CassandraIdentityStore } from "../identity/store.cassandra.js";
import type { IdentityStore } from "../identity/store.js";
import { SqliteIdentityStore } from "../identity/store.sqlite.js";
import { TokenIssuer } from "../identity/tokens.js";
import { openBackends } from "../platform/backends.js";
import type { Config } from "../platform/config.js";
import { createLogger } from "../platform/log.js";
import { inParallel } from "../platform/parallel.js";
import { createGrpcJsTransport } from "../platform/transport.grpc.js";

export interface RebuildOptions {
  /** The gRPC address of a feed target (host:port). */
  grpc: string;
  /** Readers read at once. */
  concurrency: number;
  /** Pages read per reader (each 20 items). */
  pages: number;
  /** Where the progress lines go. */
  progress: (line: string) => void;
}

export interface RebuildResult {
  readers: number;
  pages: number;
  failed: number;
  seconds: number;
  firstError?: string;
}

const TOKEN_TTL_MS = 10 * 60_000;

export async function rebuildReadModel(config: Config, o: RebuildOptions): Promise<RebuildResult> {
  const log = createLogger("warn", { tool: "rebuild-read-model" });
  const backends = await openBackends(config, log);
  const t0 = performance.now();
  const result: RebuildResult = { readers: 0, pages: 0, failed: 0, seconds: 0 };
  const timer = setInterval(() => o.progress(line(result, t0)), 1000);
  let closeTransport = () => {};
  try {
    const store: IdentityStore =
      backends.store.kind === "sqlite" ? new SqliteIdentityStore(backends.store.db) : await CassandraIdentityStore.open(backends.store.db);
    const tokens = new TokenIssuer(store, config.FEEDMESH_ISSUER, TOKEN_TTL_MS, TOKEN_TTL_MS);
    const transport = createGrpcJsTransport(o.grpc, { "grpc.use_local_subchannel_pool": 1 });
    closeTransport = () => transport.close();
    const feed = createClient(FeedService, transport);
    const readOne = async (userId: string) => {
      const headers = { authorization: `Bearer ${await tokens.accessToken(userId)}` };
      try {
        let pageToken = "";
        for (let p = 0; p < o.pages; p++) {
          pageToken = (await feed.getHomeFeed({ pageSize: 20, pageToken }, { headers, timeoutMs: 30_000 })).nextPageToken;
          result.pages++;
          if (!pageToken) break;
        }
        result.readers++;
      } catch (err) {
        result.failed++;
        result.firstError ??= `${userId}: ${(err as Error).message}`;
      }
    };
    let cursor: string | null = null;
    do {
      const page: { ids: string[]; next: string | null } = await store.scanUserIds(500, cursor);
      await inParallel(page.ids, o.concurrency, readOne);
      cursor = page.next;
    } while (cursor !== null);
  } finally {
    clearInterval(timer);
    closeTransport();
    await backends.close();
  }
  result.seconds = (performance.now() - t0) / 1000;
  o.progress(line(result, t0));
  return result;
}

function line(r: RebuildResult, t0: number): string {
  const s = (performance.now() - t0) / 1000;
  return `rebuild-read-model: ${r.readers.toLocaleString("en")} readers, ${r.pages.toLocaleString("en")} pages, ${Math.round(r.readers / Math.max(s, 0.001))} readers/s, ${r.failed} failed, ${s.toFixed(1)} s`;
}
