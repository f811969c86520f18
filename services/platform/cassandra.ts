// The Cassandra/ScyllaDB connection shared by the stores of a process: prepared statements,
// token-aware routing (the driver's default load balancing with the local data center), a
// configurable consistency, versioned migrations, and the outbox rows that carry events.
import { createRequire } from "node:module";
import type Cassandra from "cassandra-driver";
import { DependencyUnavailableError } from "./errors.js";
import type { EncodedEvent } from "./events.js";
import type { Logger } from "./log.js";

// Required, not imported: OpenTelemetry's instrumentation patches the driver's Client in the
// require hook, which an ESM import of a CommonJS package bypasses (telemetry.ts).
const cassandra = createRequire(import.meta.url)("cassandra-driver") as typeof Cassandra;

export const { types } = cassandra;
export type Row = Cassandra.types.Row;

export interface CassandraOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** CQL replication map for CREATE KEYSPACE, e.g. {'class': 'NetworkTopologyStrategy', 'dc1': 3}. */
  replication: string;
  consistency: keyof typeof Cassandra.types.consistencies;
  username?: string;
  password?: string;
}

/** One statement of a logged batch. */
export interface Statement {
  query: string;
  params: unknown[];
}

/** Outbox rows are spread over shards by key, so one key's events stay in one ordered partition. */
export const OUTBOX_SHARDS = 16;
const OUTBOX_INSERT = "INSERT INTO feedmesh_outbox";

export class CassandraDb {
  private readonly appended = new Set<(component: string, shard: number) => void>();

  private constructor(
    readonly client: Cassandra.Client,
    private readonly log: Logger,
  ) {}

  static async connect(opts: CassandraOptions, log: Logger): Promise<CassandraDb> {
    const base = {
      contactPoints: opts.contactPoints,
      localDataCenter: opts.localDataCenter,
      queryOptions: { consistency: cassandra.types.consistencies[opts.consistency], prepare: true },
      socketOptions: { connectTimeout: 5_000, readTimeout: 12_000 },
      // Two connections per local host, 4,096 requests in flight each: one connection's default
      // of 2,048 was exhausted by a burst of feed reads (BusyConnectionError, answered UNAVAILABLE).
      pooling: {
        coreConnectionsPerHost: { [cassandra.types.distance.local]: 2, [cassandra.types.distance.remote]: 1 },
        maxRequestsPerConnection: 4096,
      },
      // bigint columns (our ids, counters) as JavaScript BigInt, both ways.
      encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
      ...(opts.username ? { credentials: { username: opts.username, password: opts.password ?? "" } } : {}),
    };
    const bootstrap = new cassandra.Client(base);
    try {
      await bootstrap.connect();
      await bootstrap.execute(`CREATE KEYSPACE IF NOT EXISTS ${opts.keyspace} WITH replication = ${opts.replication}`);
    } catch (err) {
      throw new DependencyUnavailableError(`cannot reach Cassandra at ${opts.contactPoints.join(",")}: ${(err as Error).message}`);
    } finally {
      await bootstrap.shutdown();
    }
    const client = new cassandra.Client({ ...base, keyspace: opts.keyspace });
    await client.connect();
    const db = new CassandraDb(client, log);
    await db.execute(
      "CREATE TABLE IF NOT EXISTS feedmesh_migrations (component text, version int, applied_at timestamp, PRIMARY KEY (component, version))",
    );
    await db.execute(
      `CREATE TABLE IF NOT EXISTS feedmesh_outbox (
         component text, shard int, id timeuuid, topic text, key text, payload blob, headers map<text, text>,
         PRIMARY KEY ((component, shard), id)) WITH gc_grace_seconds = 3600`,
    );
    return db;
  }

  /** Applies each step once; a step is one or more CQL statements separated by ";". */
  async migrate(component: string, steps: string[]): Promise<void> {
    const done = new Set(
      (await this.execute("SELECT version FROM feedmesh_migrations WHERE component = ?", [component])).rows.map((r) => r.version as number),
    );
    for (const [i, step] of steps.entries()) {
      if (done.has(i + 1)) continue;
      for (const cql of step
        .split(";")
        .map((s) => s.trim())
        .filter(Boolean))
        await this.execute(cql);
      await this.execute("INSERT INTO feedmesh_migrations (component, version, applied_at) VALUES (?, ?, ?)", [
        component,
        i + 1,
        new Date(),
      ]);
      this.log.info({ component, version: i + 1 }, "migration applied");
    }
  }

  async execute(query: string, params: unknown[] = [], options: Cassandra.QueryOptions = {}): Promise<Cassandra.types.ResultSet> {
    try {
      return await this.client.execute(query, params, { prepare: true, ...options });
    } catch (err) {
      throw classify(err);
    }
  }

  /** Every row of a long read, page by page (paging state), never all in one response. */
  async *rows(query: string, params: unknown[] = [], fetchSize = 1000): AsyncGenerator<Row> {
    let pageState: string | undefined;
    do {
      const page = await this.execute(query, params, { fetchSize, ...(pageState ? { pageState } : {}) });
      yield* page.rows;
      pageState = page.pageState ?? undefined;
    } while (pageState);
  }

  /** A logged batch: all its statements apply, or none (eventually, across partitions). */
  async batch(statements: Statement[]): Promise<void> {
    try {
      await this.client.batch(statements as never, { prepare: true, logged: true });
    } catch (err) {
      throw classify(err);
    }
    for (const s of statements) {
      if (!s.query.startsWith(OUTBOX_INSERT)) continue;
      for (const listener of this.appended) listener(s.params[0] as string, s.params[1] as number);
    }
  }

  /** A conditional batch (lightweight transaction) on one partition; returns whether it applied. */
  async batchIf(statements: Statement[]): Promise<boolean> {
    try {
      return (await this.client.batch(statements as never, { prepare: true })).wasApplied();
    } catch (err) {
      throw classify(err);
    }
  }

  /** Runs one statement with many parameter sets, many at a time (single-partition writes). */
  async concurrent(query: string, params: unknown[][], concurrencyLevel = 64): Promise<void> {
    if (params.length === 0) return;
    try {
      await cassandra.concurrent.executeConcurrent(this.client, query, params, { concurrencyLevel, raiseOnFirstError: true });
    } catch (err) {
      throw classify(err);
    }
  }

  /** Calls listener after each batch that put an event in the outbox, with its shard (the relay then runs at once). */
  onAppended(listener: (component: string, shard: number) => void): void {
    this.appended.add(listener);
  }

  /** The statement that puts an event in the outbox, to join the batch of the change it describes. */
  outbox(component: string, e: EncodedEvent): Statement {
    return {
      query: `${OUTBOX_INSERT} (component, shard, id, topic, key, payload, headers) VALUES (?, ?, now(), ?, ?, ?, ?)`,
      params: [component, shardOf(e.key), e.topic, e.key, Buffer.from(e.payload), e.headers],
    };
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}

export function shardOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % OUTBOX_SHARDS;
}

/** Driver errors that mean "the database is not answering" become UNAVAILABLE at the boundary. */
function classify(err: unknown): unknown {
  const name = (err as Error | undefined)?.name ?? "";
  const code = (err as { code?: number }).code;
  const transient =
    name === "NoHostAvailableError" ||
    name === "OperationTimedOutError" ||
    name === "BusyConnectionError" ||
    (name === "ResponseError" && [0x1000, 0x1001, 0x1100, 0x1200, 0x1300].includes(code ?? -1)); // unavailable, overloaded, write/read timeout/failure
  return transient ? new DependencyUnavailableError(`Cassandra: ${(err as Error).message}`) : err;
}
