// The naive pull behind the project's own RPC stack, in its own process (started by run.ts): a
// FeedService whose GetHomeFeed answers with the seed-001 SQL query on PostgreSQL, served by
// @grpc/grpc-js through the platform's adapter (addGrpcService) and its interceptors
// (wrapService: tracing, logging, token verification, validation, deadlines), with the same
// access tokens as feedmesh. So against feedmesh's GetHomeFeed only the feed algorithm and its
// stores differ; against the raw query only the RPC stack does.
//   pull-server.ts <users.json>   (FEEDMESH_BENCH_PG_URL: the database; users.json: ids, pgIds, jwk)
// Prints {"ready":true,"grpc":port}; exits on SIGTERM or when stdin closes.
import { readFileSync } from "node:fs";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import type { ServiceImpl } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { JWK } from "jose";
import pg from "pg";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { actingUser, TokenVerifier } from "../../services/platform/auth.js";
import { addGrpcService } from "../../services/platform/grpc.js";
import { createLogger } from "../../services/platform/log.js";
import { wrapService } from "../../services/platform/middleware.js";
import { registration } from "../../services/platform/service.js";
import { NAIVE_SQL } from "./load.js";

const users = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { ids: string[]; pgIds: number[]; jwk: JWK };
const pgIdOf = new Map(users.ids.map((id, i) => [id, users.pgIds[i]!]));
const concurrency = Number(process.env.BENCH_PULL_POOL ?? 16);
const pool = new pg.Pool({ connectionString: process.env.FEEDMESH_BENCH_PG_URL, max: concurrency });

const impl: ServiceImpl<typeof FeedService> = {
  async getHomeFeed(req, ctx) {
    const reader = pgIdOf.get(actingUser(ctx));
    const res = await pool.query({ name: "naive", text: NAIVE_SQL, values: [reader ?? -1, req.pageSize || 20] });
    return {
      items: res.rows.map((r) => ({
        post: {
          postId: String(r.post_id),
          authorId: String(r.author_id),
          caption: r.caption,
          createTime: timestampFromDate(r.created_at),
        },
        author: { userId: String(r.author_id), username: r.username },
      })),
      nextPageToken: "",
    };
  },
};

const shutdown = new AbortController();
const verifier = new TokenVerifier(process.env.FEEDMESH_ISSUER ?? "feedmesh", Buffer.alloc(32, 1), async () => ({ keys: [users.jwk] }));
const deps = {
  log: createLogger("silent", { bench: "pull" }),
  verifier,
  validator: createValidator(),
  defaultDeadlineMs: 10_000,
  maxDeadlineMs: 60_000,
};
const server = new grpc.Server();
addGrpcService(server, wrapService(registration(FeedService, impl), deps), shutdown.signal);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
process.stdout.write(`${JSON.stringify({ ready: true, grpc: port })}\n`);
const stop = () => {
  server.forceShutdown();
  void pool.end().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.stdin.on("end", stop).on("close", stop).resume();
