// Configuration from the environment, validated once at start. A bad value stops the process
// with a message that names the variable, instead of failing later in some handler.
import { z } from "zod";

export const TARGETS = ["all", "identity", "graph", "post", "media", "feed", "fanout", "engagement", "notification", "search"] as const;
export type Target = (typeof TARGETS)[number];

/** The targets that serve RPCs (fanout is a worker). */
export const SERVICE_TARGETS = TARGETS.filter((t) => t !== "all" && t !== "fanout");

const addr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:8080")
  .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

const duration = (dflt: string) =>
  z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, "must be a duration such as 500ms, 30s, 15m, 12h or 30d")
    .default(dflt)
    .transform((v) => {
      const unit = v.replace(/^\d+/, "") as "ms" | "s" | "m" | "h" | "d";
      return Number.parseInt(v, 10) * { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[unit];
    });

function signedUrlLifetime(ms: number): boolean {
  return ms >= 1000 && ms <= 7 * 86400e3;
}

const fields = z.object({
  FEEDMESH_TARGET: z.enum(TARGETS).default("all"),
  /** Connect, gRPC-Web and gRPC over HTTP/1.1 and cleartext HTTP/2 (browsers, curl). */
  FEEDMESH_HTTP_ADDR: addr.default("127.0.0.1:8080"),
  /** gRPC only, served by @grpc/grpc-js (Envoy's upstream, service-to-service calls). */
  FEEDMESH_GRPC_ADDR: addr.default("127.0.0.1:8081"),
  /** Where the embedded store keeps its SQLite file. */
  FEEDMESH_DATA_DIR: z.string().min(1).default("./data"),
  /**
   * sqlite: a file under FEEDMESH_DATA_DIR; memory: an in-memory database (tests); both with the
   * embedded event bus. cassandra: Cassandra/ScyllaDB with Kafka for events.
   */
  FEEDMESH_STORE: z.enum(["sqlite", "memory", "cassandra"]).default("sqlite"),
  FEEDMESH_CASSANDRA_CONTACT_POINTS: z.string().default("127.0.0.1:19042"),
  FEEDMESH_CASSANDRA_LOCAL_DC: z.string().default("datacenter1"),
  FEEDMESH_CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,47}$/, "must be a CQL identifier")
    .default("feedmesh"),
  /** The replication map of CREATE KEYSPACE, e.g. {'class': 'NetworkTopologyStrategy', 'dc1': 3}. */
  FEEDMESH_CASSANDRA_REPLICATION: z.string().default("{'class': 'SimpleStrategy', 'replication_factor': 1}"),
  FEEDMESH_CASSANDRA_CONSISTENCY: z.enum(["one", "localOne", "quorum", "localQuorum", "eachQuorum", "all"]).default("localQuorum"),
  FEEDMESH_CASSANDRA_USERNAME: z.string().optional(),
  FEEDMESH_CASSANDRA_PASSWORD: z.string().optional(),
  FEEDMESH_KAFKA_BROKERS: z.string().default("127.0.0.1:19092"),
  FEEDMESH_KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Prepended to topic and consumer-group names, so several deployments can share a cluster. */
  FEEDMESH_KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "may hold letters, digits, '.', '_' and '-'")
    .default(""),
  FEEDMESH_KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(7).default(1),
  FEEDMESH_KAFKA_SSL: z.enum(["true", "false"]).default("false"),
  FEEDMESH_KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).optional(),
  FEEDMESH_KAFKA_SASL_USERNAME: z.string().optional(),
  FEEDMESH_KAFKA_SASL_PASSWORD: z.string().optional(),
  /**
   * The root secret for service tokens and page tokens (32+ characters). Without it the embedded
   * mode creates one in FEEDMESH_DATA_DIR; separate processes must share one.
   */
  FEEDMESH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  FEEDMESH_ISSUER: z.string().min(1).default("feedmesh"),
  FEEDMESH_ACCESS_TOKEN_TTL: duration("15m"),
  FEEDMESH_REFRESH_TOKEN_TTL: duration("30d"),
  /** Verified access tokens each process remembers (~0.5 KB each): size it for the active users. */
  FEEDMESH_VERIFIED_TOKENS: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  /** The deadline applied to calls that carry none, and the cap on those that do. */
  FEEDMESH_DEFAULT_DEADLINE: duration("10s"),
  FEEDMESH_MAX_DEADLINE: duration("60s"),
  FEEDMESH_SHUTDOWN_GRACE: duration("10s"),
  /** Authors with at least this many followers are not fanned out; readers pull their posts. */
  FEEDMESH_CELEBRITY_THRESHOLD: z.coerce.number().int().min(1).default(10_000),
  /** How many entries of a reader's feed the cache keeps; deeper pages read the store. */
  FEEDMESH_FEED_CACHE_SIZE: z.coerce.number().int().min(10).max(100_000).default(500),
  /** A cached feed unread for this long leaves the cache; the next read rebuilds it. */
  FEEDMESH_FEED_INACTIVE_AFTER: duration("7d"),
  /** How many of a followee's recent posts a new follow brings into the follower's feed. */
  FEEDMESH_FEED_BACKFILL: z.coerce.number().int().min(0).max(1000).default(20),
  /** Redis for the feed cache (with FEEDMESH_STORE=cassandra); the embedded mode caches in process. */
  FEEDMESH_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:16379"),
  /**
   * How a home-feed page is read from the read model on Redis: script (one Lua script, one round
   * trip; needs a single Redis) or split (single-key commands only, 3-4 round trips: the variant a
   * Redis Cluster needs; docs/feed-cache.md).
   */
  FEEDMESH_READ_MODEL_PAGE: z.enum(["script", "split"]).default("script"),
  /**
   * The S3-compatible object store for media (AWS S3, MinIO, versitygw, R2, ...). Without it the
   * embedded store keeps media under FEEDMESH_DATA_DIR/blobs and serves it at /blobs on the HTTP port.
   */
  FEEDMESH_S3_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^/\s]+\/?$/, "must be an http(s) URL without a path, e.g. http://127.0.0.1:19000")
    .optional(),
  FEEDMESH_S3_REGION: z.string().min(1).default("us-east-1"),
  FEEDMESH_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
    .default("feedmesh-media"),
  FEEDMESH_S3_ACCESS_KEY_ID: z.string().optional(),
  FEEDMESH_S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Where clients reach the embedded blob store, if not at this process's HTTP address (a proxy, another host name). */
  FEEDMESH_MEDIA_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s]+\/[^?#\s]*[^/?#\s]$/, "must be an http(s) URL with a path, e.g. https://media.example.com/blobs")
    .optional(),
  /** How long pre-signed upload URLs work (1s to 7d, SigV4's longest). */
  FEEDMESH_MEDIA_UPLOAD_TTL: duration("15m").refine(signedUrlLifetime, "must be from 1s to 7d"),
  /** How long pre-signed download URLs work (1s to 7d). */
  FEEDMESH_MEDIA_DOWNLOAD_TTL: duration("1h").refine(signedUrlLifetime, "must be from 1s to 7d"),
  FEEDMESH_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** Addresses (host:port of the gRPC port) of the other services, for the microservices mode. */
  FEEDMESH_IDENTITY_ADDR: addr.optional(),
  FEEDMESH_GRAPH_ADDR: addr.optional(),
  FEEDMESH_POST_ADDR: addr.optional(),
  FEEDMESH_MEDIA_ADDR: addr.optional(),
  FEEDMESH_FEED_ADDR: addr.optional(),
  FEEDMESH_ENGAGEMENT_ADDR: addr.optional(),
  FEEDMESH_NOTIFICATION_ADDR: addr.optional(),
  FEEDMESH_SEARCH_ADDR: addr.optional(),
});

/** Cross-field rules. */
const schema = fields.superRefine((c, ctx) => {
  for (const key of ["FEEDMESH_S3_ACCESS_KEY_ID", "FEEDMESH_S3_SECRET_ACCESS_KEY"] as const) {
    if (c.FEEDMESH_S3_ENDPOINT && !c[key]) ctx.addIssue({ code: "custom", path: [key], message: "required with FEEDMESH_S3_ENDPOINT" });
  }
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith("FEEDMESH_") && v !== ""));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}

/** The gRPC address of a service in the microservices mode, if configured. */
export function serviceAddr(config: Config, service: string): string | undefined {
  return config[`FEEDMESH_${service.toUpperCase()}_ADDR` as keyof Config] as string | undefined;
}

export function splitAddr(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(a.slice(i + 1)) };
}
