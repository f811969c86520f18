// Redis adapters of the feed's cache ports (cache.ts), on node-redis. Layout (docs/feed-cache.md):
//
//   {prefix}feed:{<readerId>}   sorted set: the reader's hot feed
//       entry    member "<postId, zero-padded to 19 digits>:<authorId>", score idTime(postId) (ms)
//       marker   member "#<floor, 19 digits>", score 0: present in every filled feed, so an
//                empty-but-filled feed is a key (a miss is no key); the feed holds every entry
//                whose post id is >= floor (floor 0: the whole feed)
//
// Order: scores are exact (ms < 2^53) and members with equal scores sort bytewise, where the
// fixed-width id decides; so (score, member) order is exactly post-id order, ids of the same
// millisecond included. The 64-bit id itself can't be the score (a double holds 53 bits).
// The marker lives in the feed's key, not a key of its own, so expiry and eviction (maxmemory)
// take the marker and the entries together: never a marker without its entries.
//
// Conditional and cursor work runs in Lua (atomic, one round trip per reader), pipelined in
// batches for many readers. A down or hung Redis never hangs a caller: commands fail at once
// while the client is disconnected, and every call races a timeout; callers treat the error as
// a miss. One key per reader (with the reader id as hash tag), so every script is single-slot.
import { type CommandParser, defineScript } from "redis";
import { idTime } from "../platform/ids.js";
import { chunks, type RedisConnection } from "../platform/redis.js";
import { type CachedPage, checkCap, checkLimit, type FeedCache, type FeedEntry, WHOLE_FEED } from "./cache.js";

/** A post id as a 19-digit zero-padded string (the largest int64 has 19 digits). */
export function pad(id: string): string {
  if (!/^\d{1,19}$/.test(id)) throw new Error(`not a post id: ${id}`);
  return id.padStart(19, "0");
}

function unpad(id19: string): string {
  return id19.replace(/^0+(?=\d)/, "");
}

const member = (e: FeedEntry) => `${pad(e.postId)}:${e.authorId}`;
const marker = (floor: string) => `#${pad(floor)}`;

function parseMember(m: string): FeedEntry {
  return { postId: unpad(m.slice(0, 19)), authorId: m.slice(20) };
}

// lt(a, b): a < b for 19-digit ids, as two exact halves (no locale-dependent string compare).
// below(key, id, ms): how many members (the marker included) sort before the id, i.e. the rank
// the id has or would have: the members of earlier milliseconds (ZCOUNT), plus a binary search
// by rank among the id's own millisecond (where members sort by id). O(log n) whatever the ties.
export const LIB = `local function lt(a, b)
  local x, y = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if x ~= y then return x < y end
  return tonumber(string.sub(a, 11, 19)) < tonumber(string.sub(b, 11, 19))
end
local function below(key, id, ms)
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. ms)
  local hi = lo + redis.call('ZCOUNT', key, ms, ms)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if lt(string.sub(redis.call('ZRANGE', key, mid, mid)[1], 1, 19), id) then lo = mid + 1 else hi = mid end
  end
  return lo
end
`;

// The marker (rank 0: score 0, below every entry), or nil when the feed is not cached.
export const HEAD = `local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not head or string.sub(head, 1, 1) ~= '#' then return false end
`;

/** The feed's Lua scripts, registered on the Redis connection the feed cache uses. */
export const FEED_SCRIPTS = {
  // ARGV: score, member, cap. Adds to a filled feed only, at or above its floor; trims to cap
  // (ranks 1.. are the entries, oldest first) and then raises the floor to the oldest kept.
  feedAdd: defineScript({
    SCRIPT: `${LIB}${HEAD}
if lt(string.sub(ARGV[2], 1, 19), string.sub(head, 2)) then return 0 end
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 0 then return 0 end
if redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -tonumber(ARGV[3]) - 1) > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 1, 1)[1]
  redis.call('ZREM', KEYS[1], head)
  redis.call('ZADD', KEYS[1], 0, '#' .. string.sub(oldest, 1, 19))
end
return 1`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, score: number, entry: string, cap: number) {
      parser.pushKey(key);
      parser.push(String(score), entry, String(cap));
    },
    transformReply: (reply: unknown) => reply as number,
  }),
  // ARGV: n, cursor (19 digits, or "" for the newest), cursor's ms. Returns nil when not cached,
  // else { marker, up to n entries older than the cursor, newest first }: the ranks just below
  // the cursor's rank, down to 1.
  feedPage: defineScript({
    SCRIPT: `${LIB}${HEAD}
local n = tonumber(ARGV[1])
local p
if ARGV[2] == '' then p = redis.call('ZCARD', KEYS[1]) else p = below(KEYS[1], ARGV[2], ARGV[3]) end
local out = { head }
if p > 1 then
  local got = redis.call('ZRANGE', KEYS[1], math.max(1, p - n), p - 1)
  for i = #got, 1, -1 do out[#out + 1] = got[i] end
end
return out`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, n: number, before: string, beforeMs: string) {
      parser.pushKey(key);
      parser.push(String(n), before, beforeMs);
    },
    transformReply: (reply: unknown) => reply as string[] | null,
  }),
  // ARGV: 19-digit id, the post's ms. Removes that post, whatever its author (found by rank).
  feedRemove: defineScript({
    SCRIPT: `${LIB}
local r = below(KEYS[1], ARGV[1], ARGV[2])
local m = redis.call('ZRANGE', KEYS[1], r, r)[1]
if m and string.sub(m, 1, 20) == ARGV[1] .. ':' then return redis.call('ZREM', KEYS[1], m) end
return 0`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, id: string, ms: number) {
      parser.pushKey(key);
      parser.push(id, String(ms));
    },
    transformReply: (reply: unknown) => reply as number,
  }),
  // ARGV: ":<authorId>". Removes that author's entries (the marker, rank 0, is skipped).
  feedRemoveAuthor: defineScript({
    SCRIPT: `local doomed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 1, -1)) do
  if string.sub(m, 20) == ARGV[1] then doomed[#doomed + 1] = m end
end
for i = 1, #doomed, 1000 do
  redis.call('ZREM', KEYS[1], unpack(doomed, i, math.min(i + 999, #doomed)))
end
return #doomed`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, suffix: string) {
      parser.pushKey(key);
      parser.push(suffix);
    },
    transformReply: (reply: unknown) => reply as number,
  }),
};

export interface RedisFeedCacheOptions {
  /** Idle expiry of a reader's feed: set on fill, refreshed by touch (seconds, integer). */
  ttlSeconds: number;
  /** Key prefix (default "feedmesh:"); must not contain "{". */
  prefix?: string;
}

export class RedisFeedCache implements FeedCache {
  private readonly prefix: string;
  private readonly ttl: number;

  constructor(
    private readonly redis: RedisConnection<typeof FEED_SCRIPTS>,
    options: RedisFeedCacheOptions,
  ) {
    this.prefix = options.prefix ?? "feedmesh:";
    this.ttl = Math.max(1, Math.ceil(options.ttlSeconds));
  }
  /** Closes the connection this cache uses. */
  close(): Promise<void> {
    return this.redis.close();
  }

  private key(readerId: string): string {
    return `${this.prefix}feed:{${readerId}}`;
  }

  async isCached(readerId: string): Promise<boolean> {
    return (await this.redis.run((c) => c.exists(this.key(readerId)))) === 1;
  }

  async fill(readerId: string, entries: FeedEntry[], cap: number): Promise<void> {
    checkCap(cap);
    const sorted = [...new Map(entries.map((e) => [pad(e.postId), e])).entries()].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
    const kept = sorted.slice(0, cap).map(([, e]) => e);
    const floor = sorted.length >= cap ? kept.at(-1)!.postId : WHOLE_FEED;
    const key = this.key(readerId);
    await this.redis.run((c) => {
      const tx = c
        .multi()
        .del(key)
        .zAdd(key, { score: 0, value: marker(floor) });
      for (const part of chunks(kept))
        tx.zAdd(
          key,
          part.map((e) => ({ score: idTime(e.postId), value: member(e) })),
        );
      return tx.expire(key, this.ttl).exec();
    });
  }

  async add(readerIds: string[], entry: FeedEntry, cap: number): Promise<void> {
    checkCap(cap);
    const [score, value] = [idTime(entry.postId), member(entry)];
    await this.redis.run((c) =>
      Promise.all(
        chunks(readerIds).map((part) => {
          const pipe = c.multi();
          for (const r of part) pipe.feedAdd(this.key(r), score, value, cap);
          return pipe.execAsPipeline();
        }),
      ),
    );
  }

  async page(readerId: string, limit: number, before: string | null): Promise<CachedPage | null> {
    checkLimit(limit);
    const n = limit + 1; // one more tells whether the cache holds anything after the page
    const reply = await this.redis.run((c) =>
      c.feedPage(this.key(readerId), n, before === null ? "" : pad(before), before === null ? "" : String(idTime(before))),
    );
    if (reply === null) return null;
    const [head, ...members] = reply;
    return {
      entries: members.slice(0, limit).map(parseMember),
      complete: head === marker(WHOLE_FEED) || members.length > limit,
    };
  }

  async remove(readerIds: string[], postId: string): Promise<void> {
    const [id, ms] = [pad(postId), idTime(postId)];
    await this.redis.run((c) =>
      Promise.all(
        chunks(readerIds).map((part) => {
          const pipe = c.multi();
          for (const r of part) pipe.feedRemove(this.key(r), id, ms);
          return pipe.execAsPipeline();
        }),
      ),
    );
  }

  async removeAuthor(readerId: string, authorId: string): Promise<void> {
    await this.redis.run((c) => c.feedRemoveAuthor(this.key(readerId), `:${authorId}`));
  }

  async drop(readerId: string): Promise<void> {
    await this.redis.run((c) => c.unlink(this.key(readerId)));
  }

  async touch(readerId: string): Promise<void> {
    await this.redis.run((c) => c.expire(this.key(readerId), this.ttl));
  }
}
