// The Redis memory of the home feed's read model (services/feed/readmodel.redis.ts): SCAN of the
// bench's own Redis database by key family, MEMORY USAGE (SAMPLES 0: every element counted) of up
// to 2,000 keys per family, the bytes per cached reader, post body, profile and counts key, and
// what 1,000,000 active readers would take at this run's ratios. INFO memory cross-checks it.
import { createClient } from "redis";
import { bytes, f1, f2, n0, table } from "./md.js";
import { say } from "./proc.js";

const P = "feedmesh:";
/** The read model's key families: name, key prefix, what a key holds. */
const FAMILIES: [string, string, string][] = [
  ["feed", `${P}feed:{`, "a reader's cached feed (sorted set)"],
  ["timeline", `${P}tl:feed:{`, "a celebrity's recent posts (sorted set)"],
  ["post", `${P}rm:p:`, 'a post body (Post bytes; "" a tombstone)'],
  ["profile", `${P}rm:u:`, "a profile (User bytes)"],
  ["counts", `${P}rm:c:`, 'a post\'s "likes comments"'],
  ["likes", `${P}rm:lk:{`, "a reader's like states (hash)"],
  ["gone", `${P}rm:gone:{`, "authors a reader unfollowed recently (hash)"],
  ["celebrities", `${P}rm:cel:{`, "a reader's followed celebrities (hash)"],
  ["epoch", `${P}rm:cepoch`, "the celebrity epoch"],
];
const SAMPLE = 2000;
/** The active readers of the projection. */
const READERS = 1_000_000;

export interface KeyFamily {
  family: string;
  what: string;
  keys: number;
  sampled: number;
  meanBytes: number;
  totalBytes: number;
  /** TTL of the first sampled key, seconds (-1: none). */
  ttl: number;
  readModel: boolean;
}

export interface ReadModelMemory {
  db: number;
  dbsize: number;
  families: KeyFamily[];
  /** Readers with a cached feed: the feed, like, celebrity and unfollow keys of a sample of them. */
  perReader: { readers: number; sampled: number; entries: number; bytes: number; parts: Record<string, { bytes: number; share: number }> };
  /** INFO memory used_memory of the instance (shared by other databases): at the run's start and when sampled. */
  usedMemory: { start: number; sampled: number };
  projection: { part: string; count: number; bytesEach: number; total: number }[];
}

const client = (url: string, db: number) => createClient({ url: `${url}/${db}` });
type Redis = ReturnType<typeof client>;

/** A client of database `db` of the Redis at `url`, connected. */
export async function openRedis(url: string, db: number): Promise<Redis> {
  const r = client(url, db);
  await r.connect();
  return r;
}

export async function usedMemory(r: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(String(await r.info("memory")))?.[1] ?? Number.NaN);
}

/** INFO memory used_memory of the instance holding the bench's database. */
export async function instanceMemory(url: string, db: number): Promise<number> {
  const r = await openRedis(url, db);
  try {
    return await usedMemory(r);
  } finally {
    await r.close();
  }
}

async function memoryUsage(r: Redis, keys: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < keys.length; i += 500)
    out.push(
      ...(await Promise.all(
        keys.slice(i, i + 500).map(async (k) => Number((await r.sendCommand(["MEMORY", "USAGE", k, "SAMPLES", "0"])) ?? 0)),
      )),
    );
  return out;
}

const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export async function readModelMemory(url: string, db: number, startUsedMemory: number): Promise<ReadModelMemory> {
  const r = await openRedis(url, db);
  try {
    const t0 = performance.now();
    const count = new Map<string, number>();
    const sample = new Map<string, string[]>();
    const meta = new Map<string, { what: string; readModel: boolean }>();
    for (const [name, , what] of FAMILIES) meta.set(name, { what, readModel: true });
    for await (const keys of r.scanIterator({ MATCH: "*", COUNT: 1000 }))
      for (const key of keys) {
        let name = FAMILIES.find(([, prefix]) => key.startsWith(prefix))?.[0];
        if (!name) {
          // Other keys in the database (the post and counts caches): grouped by their shape.
          name = key.replace(/\{[^}]*\}/g, "{*}").replace(/\d+/g, "*");
          if (!meta.has(name)) meta.set(name, { what: "not the read model", readModel: false });
        }
        count.set(name, (count.get(name) ?? 0) + 1);
        const s = sample.get(name) ?? [];
        if (s.length === 0) sample.set(name, s);
        if (s.length < SAMPLE) s.push(key); // SCAN's order is the hash table's: a fair sample
      }
    const families: KeyFamily[] = [];
    for (const [family, { what, readModel }] of meta) {
      const keys = sample.get(family) ?? [];
      if (keys.length === 0) {
        families.push({ family, what, keys: 0, sampled: 0, meanBytes: Number.NaN, totalBytes: 0, ttl: Number.NaN, readModel });
        continue;
      }
      const m = mean(await memoryUsage(r, keys));
      const n = count.get(family)!;
      families.push({
        family,
        what,
        keys: n,
        sampled: keys.length,
        meanBytes: m,
        totalBytes: m * n,
        ttl: await r.ttl(keys[0]!),
        readModel,
      });
    }
    // Per cached reader: the reader's feed and the keys of the same reader.
    const feeds = sample.get("feed") ?? [];
    const readers = feeds.map((k) => k.slice(`${P}feed:`.length));
    const parts: Record<string, number[]> = { feed: await memoryUsage(r, feeds) };
    for (const [name, kind] of [
      ["likes", "lk"],
      ["celebrities", "cel"],
      ["gone", "gone"],
    ] as const)
      parts[name] = await memoryUsage(
        r,
        readers.map((id) => `${P}rm:${kind}:${id}`),
      );
    const entries: number[] = [];
    for (let i = 0; i < feeds.length; i += 500)
      entries.push(...(await Promise.all(feeds.slice(i, i + 500).map(async (k) => Math.max(0, (await r.zCard(k)) - 1))))); // less the floor marker
    const perReaderBytes =
      feeds.length === 0
        ? Number.NaN
        : feeds.reduce((s, _, i) => s + Object.values(parts).reduce((t, p) => t + p[i]!, 0), 0) / feeds.length;
    const cached = count.get("feed") ?? 0;
    const fam = (name: string) => families.find((f) => f.family === name);
    const perReaderOf = (name: string) => (cached > 0 ? (fam(name)?.keys ?? 0) / cached : 0);
    const projection = [
      { part: "cached readers (feed + like, celebrity and unfollow hashes)", count: READERS, bytesEach: perReaderBytes },
      ...["post", "profile", "counts", "timeline"].map((name) => ({
        part: name,
        count: READERS * perReaderOf(name),
        bytesEach: fam(name)?.keys ? fam(name)!.meanBytes : 0,
      })),
    ].map((p) => ({ ...p, total: p.count * p.bytesEach }));
    const out: ReadModelMemory = {
      db,
      dbsize: await r.dbSize(),
      families,
      perReader: {
        readers: cached,
        sampled: feeds.length,
        entries: mean(entries),
        bytes: perReaderBytes,
        parts: Object.fromEntries(
          Object.entries(parts).map(([k, v]) => [
            k,
            { bytes: mean(v), share: v.length === 0 ? 0 : v.filter((b) => b > 0).length / v.length },
          ]),
        ),
      },
      usedMemory: { start: startUsedMemory, sampled: await usedMemory(r) },
      projection,
    };
    say(
      `read model memory (db ${db}): ${n0(out.dbsize)} keys, ${n0(cached)} cached readers at ${n0(perReaderBytes)} bytes each, ` +
        `${families.map((f) => `${f.family} ${n0(f.keys)}×${n0(f.meanBytes)} B`).join(", ")} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return out;
  } finally {
    await r.close();
  }
}

const ttl = (s: number) =>
  Number.isNaN(s) ? "-" : s < 0 ? "none" : s >= 86_400 ? `${f1(s / 86_400)} d` : s >= 3600 ? `${f1(s / 3600)} h` : `${n0(s)} s`;

/** The report's section "Redis memory of the read model". */
export function memorySection(m: ReadModelMemory, flush?: { before: number; after: number }): string {
  const out: string[] = [];
  const model = m.families.filter((f) => f.readModel);
  const sum = model.reduce((s, f) => s + f.totalBytes, 0);
  const all = m.families.reduce((s, f) => s + f.totalBytes, 0);
  out.push(
    `SCAN of the bench's Redis database ${m.db} after the workloads (${n0(m.dbsize)} keys); MEMORY USAGE … SAMPLES 0 of up to ${n0(SAMPLE)} keys per family; total = keys × mean.`,
    "",
    table(
      ["key family", "holds", "keys", "sampled", "bytes/key (mean)", "total (est.)", "TTL of a key"],
      [
        ...m.families.map((f) => [
          f.readModel ? f.family : `\`${f.family}\``,
          f.what,
          n0(f.keys),
          n0(f.sampled),
          n0(f.meanBytes),
          bytes(f.totalBytes),
          ttl(f.ttl),
        ]),
        ["read model", "", n0(model.reduce((s, f) => s + f.keys, 0)), "", "", bytes(sum), ""],
      ],
    ),
    "",
    table(
      [
        `per cached reader (${n0(m.perReader.readers)} readers with a cached feed, ${n0(m.perReader.sampled)} sampled)`,
        "bytes (mean)",
        "readers having one",
      ],
      [
        ...Object.entries(m.perReader.parts).map(([k, p]) => [
          k === "feed"
            ? `feed (sorted set, ${f1(m.perReader.entries)} entries on average)`
            : `${k}: ${FAMILIES.find(([n]) => n === k)?.[2]}`,
          n0(p.bytes),
          `${n0(p.share * 100)}%`,
        ]),
        ["total per cached reader", n0(m.perReader.bytes), ""],
      ],
    ),
    "",
  );
  const fam = (name: string) => m.families.find((f) => f.family === name);
  out.push(
    `Per post body ${n0(fam("post")?.meanBytes)} bytes, per profile ${n0(fam("profile")?.meanBytes)}, per counts key ${n0(fam("counts")?.meanBytes)}, per celebrity timeline ${n0(fam("timeline")?.meanBytes)}.`,
    "",
    table(
      [`${n0(READERS)} active readers`, "keys", "bytes each", "total"],
      [
        ...m.projection.map((p) => [p.part, n0(p.count), n0(p.bytesEach), bytes(p.total)]),
        ["read model", "", "", bytes(m.projection.reduce((s, p) => s + p.total, 0))],
      ],
    ),
    "",
    `Assumptions: every active reader has a cached feed like this run's cached readers (${f1(m.perReader.entries)} entries); the post bodies, ` +
      `profiles, counts and celebrity timelines scale with the readers at this run's ratios of keys to cached readers ` +
      `(${m.projection
        .slice(1)
        .map((p) => `${p.part} ${f2(p.count / READERS)}`)
        .join(", ")}): the bodies are those of the posts the feeds reference, kept for their TTL (${ttl(fam("post")?.ttl ?? -1)} ` +
      `after last written; in production the posts of that window), the counts for ${ttl(fam("counts")?.ttl ?? -1)}. Each further distinct ` +
      `post per reader adds ${bytes(READERS * (fam("post")?.meanBytes ?? 0))}; Redis' own overhead (fragmentation, replication buffers) comes on top.`,
    "",
    `Cross-check, INFO memory used_memory of the instance (shared with other databases, so approximate): ${bytes(m.usedMemory.start)} at the ` +
      `run's start (database ${m.db} empty), ${bytes(m.usedMemory.sampled)} when sampled: +${bytes(m.usedMemory.sampled - m.usedMemory.start)}, ` +
      `against ${bytes(all)} estimated for every key of the database (${bytes(sum)} of them the read model)` +
      (flush
        ? `; FLUSHDB of database ${m.db} before the cold read step freed ${bytes(flush.before - flush.after)} (${bytes(flush.before)} → ${bytes(flush.after)}).`
        : "."),
  );
  return out.join("\n");
}
