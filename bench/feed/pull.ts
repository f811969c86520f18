// The naive pull baseline's data: the same users, follows and posts as loaded into feedmesh,
// in PostgreSQL (users, follows, posts; an index on posts by author and time, the follows'
// primary key by follower), for the query of seed 001 (load.ts NAIVE_SQL).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import type { Loaded } from "./data.js";
import { NAIVE_SQL } from "./load.js";
import { progress, root, say } from "./proc.js";

const SCHEMA = `DROP TABLE IF EXISTS posts, follows, users;
CREATE TABLE users (user_id int PRIMARY KEY, username text NOT NULL);
CREATE TABLE follows (follower_id int NOT NULL, followee_id int NOT NULL, PRIMARY KEY (follower_id, followee_id));
CREATE TABLE posts (post_id bigint PRIMARY KEY, author_id int NOT NULL, caption text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX posts_by_author_time ON posts (author_id, created_at DESC);`;

/** Creates the database if needed and returns its URL. */
export async function ensureDatabase(adminUrl: string, db: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [db]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Loads every graph: user i of a graph is PostgreSQL user `offset + i`. Returns the PostgreSQL id
 * of each loaded user, per graph.
 */
export async function loadPostgres(url: string, graphs: Loaded[]): Promise<number[][]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(SCHEMA);
    const out: number[][] = [];
    let offset = 1;
    const rows = graphs.reduce((n, l) => n + l.ids.length + l.graph.follower.length + l.posts.length, 0);
    const p = progress("postgres: users, follows, posts", rows, "rows");
    for (const l of graphs) {
      const pgIds = l.ids.map((_, i) => offset + i);
      out.push(pgIds);
      for (let i = 0; i < pgIds.length; i += 10_000) {
        const ids = pgIds.slice(i, i + 10_000);
        await c.query("INSERT INTO users SELECT * FROM unnest($1::int[], $2::text[])", [ids, ids.map((id) => `u${id}`)]);
        p.add(ids.length);
      }
      for (let i = 0; i < l.graph.follower.length; i += 20_000) {
        const a = Array.from(l.graph.follower.subarray(i, i + 20_000), (u) => pgIds[u]!);
        const b = Array.from(l.graph.followee.subarray(i, i + 20_000), (u) => pgIds[u]!);
        await c.query("INSERT INTO follows SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT DO NOTHING", [a, b]);
        p.add(a.length);
      }
      for (let i = 0; i < l.posts.length; i += 10_000) {
        const part = l.posts.slice(i, i + 10_000);
        await c.query("INSERT INTO posts SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[])", [
          part.map((x) => x.postId),
          part.map((x) => pgIds[x.author]!),
          part.map((x) => x.caption),
          part.map((x) => new Date(x.createTime).toISOString()),
        ]);
        p.add(part.length);
      }
      offset += l.ids.length;
    }
    p.done();
    await c.query("VACUUM ANALYZE users");
    await c.query("VACUUM ANALYZE follows");
    await c.query("VACUUM ANALYZE posts");
    const plan = await c.query(`EXPLAIN ${NAIVE_SQL.replace("$1", String(out[0]?.[0] ?? 1)).replace("$2", "10")}`);
    say(`postgres: plan of the naive pull:\n${plan.rows.map((r) => `    ${r["QUERY PLAN"]}`).join("\n")}`);
    return out;
  } finally {
    await c.end();
  }
}

/** The pgbench script of the same query (an independent check of the raw SQL figure). */
export function pgbenchScript(dir: string, graph: string, lo: number, hi: number): string {
  const file = path.join(dir, `naive-pull-${graph}.pgbench.sql`);
  const header = `-- the naive pull of bench/feed for random ${graph} readers; written by make bench\n`;
  writeFileSync(file, `${header}\\set r random(${lo}, ${hi})\n${NAIVE_SQL.replace("$1", ":r").replace("$2", "10")};\n`);
  return file;
}

export interface Pgbench {
  tps: number;
  latencyMs: number;
}

/** pgbench -c N -j 2 -T seconds -M prepared on the script; null when pgbench is missing. */
export function runPgbench(url: string, script: string, clients: number, seconds: number): Pgbench | null {
  const u = new URL(url);
  const bins = ["pgbench", ...listPgBins()];
  for (const bin of bins) {
    try {
      const out = execFileSync(
        bin,
        [
          "-n",
          "-M",
          "prepared",
          "-c",
          String(clients),
          "-j",
          "2",
          "-T",
          String(seconds),
          "-f",
          script,
          "-h",
          u.hostname,
          "-p",
          u.port,
          "-U",
          u.username,
          u.pathname.slice(1),
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      const lat = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
      return { tps, latencyMs: lat };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      say(`pgbench failed: ${(err as Error).message.split("\n")[0]}`);
      return null;
    }
  }
  return null;
}

function listPgBins(): string[] {
  try {
    return execFileSync("bash", ["-c", "ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1"], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** The PostgreSQL server's URL: FEEDMESH_BENCH_PG_URL, else scripts/infra/postgres.sh started (not installed by a smoke run). */
export async function postgresUrl(smoke: boolean): Promise<string | undefined> {
  if (process.env.FEEDMESH_BENCH_PG_URL) return process.env.FEEDMESH_BENCH_PG_URL;
  const script = path.join(root, "scripts/infra/postgres.sh");
  try {
    if (smoke) execFileSync("bash", [script, "installed"], { stdio: "ignore" });
    execFileSync("bash", [script, "start"], { stdio: ["ignore", "inherit", "inherit"] });
    return execFileSync("bash", [script, "env"], { encoding: "utf8" })
      .replace(/^export FEEDMESH_BENCH_PG_URL=/, "")
      .trim();
  } catch {
    return undefined;
  }
}
