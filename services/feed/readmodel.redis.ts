// The read model on Redis (docs/feed-cache.md has the layout). A page is one EVALSHA of PAGE:
// the reader's feed and the followed celebrities' timelines merged below the cursor, hidden
// authors and tombstoned posts left out, and the bodies, profiles, counts and like states of the
// page's posts, in one reply. The script computes the keys of posts, profiles and timelines, so it
// needs a single Redis; readmodel.cluster.ts pages with single-key commands instead (the variant a
// Redis Cluster needs). Every write here is a single-key command, so both variants share them.
import { type CommandParser, defineScript, RESP_TYPES } from "redis";
import { idTime } from "../platform/ids.js";
import type { RedisConnection } from "../platform/redis.js";
import { FEED_SCRIPTS, LIB, pad, RedisFeedCache } from "./cache.redis.js";
import {
  type CelebrityStamp,
  type Counts,
  type FeedEntry,
  likeKnownAbsent,
  type ModelItem,
  type ModelPage,
  type ReadModel,
  type ReadModelOptions,
} from "./readmodel.js";

const ZERO19 = "0".repeat(19);

// KEYS[1] the reader's feed. ARGV: prefix, reader, limit, cursor (19 digits or ""), cursor's ms,
// the feed's idle TTL (s). Replies {"hit", more, likeSetCreatedMs|nil, then 7 per item: post id,
// author, post bytes|nil, user bytes|nil, likes|nil, comments|nil, 1|0|nil (liked)} or
// {miss, authors...}. Numbers come as integers, so Node parses no text.
const PAGE = `${LIB}
local P, r, n, cur, curms = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local function marker(k)
  local h = redis.call('ZRANGE', k, 0, 0)[1]
  if h and string.sub(h, 1, 1) == '#' then return string.sub(h, 2) end
  return nil
end
local F = KEYS[1]
local floor = marker(F)
if not floor then return {'feed'} end
local cel = redis.call('HMGET', P .. 'rm:cel:{' .. r .. '}', 'e', 'l')
if not cel[2] or cel[1] ~= (redis.call('GET', P .. 'rm:cepoch') or '0') then return {'celebrities'} end
local srcs = {{k = F, floor = floor}}
local missing = {'timelines'}
for c in string.gmatch(cel[2], '[^,]+') do
  local k = P .. 'tl:feed:{' .. c .. '}'
  local f = marker(k)
  if f then srcs[#srcs + 1] = {k = k, floor = f} else missing[#missing + 1] = c end
end
if #missing > 1 then return missing end
local gone = {}
for _, a in ipairs(redis.call('HKEYS', P .. 'rm:gone:{' .. r .. '}')) do gone[a] = true end
for _, s in ipairs(srcs) do
  if cur == '' then s.p = redis.call('ZCARD', s.k) else s.p = below(s.k, cur, curms) end
  s.buf = {}
  s.i = 1
end
-- The source's next member (reading a batch when needed), or nil when its cached part is used up.
local function peek(s)
  if s.i > #s.buf then
    if s.p <= 1 then return nil end
    local lo = math.max(1, s.p - n - 1)
    local got = redis.call('ZRANGE', s.k, lo, s.p - 1)
    s.buf = {}
    for j = #got, 1, -1 do s.buf[#s.buf + 1] = got[j] end
    s.i = 1
    s.p = lo
  end
  return s.buf[s.i]
end
local want = n + 1
local items, bodies, seen = {}, {}, {}
local ended, deep = false, false
while #items < want and not ended do
  local cand = {}
  while #items + #cand < want do
    local best, bm = nil, nil
    for _, s in ipairs(srcs) do
      local m = peek(s)
      if m == nil then
        if s.floor ~= '${ZERO19}' then deep = true end
      elseif bm == nil or string.sub(m, 1, 19) > string.sub(bm, 1, 19) then
        best, bm = s, m
      end
    end
    if deep then break end
    if best == nil then ended = true; break end
    best.i = best.i + 1
    local id = string.sub(bm, 1, 19)
    local a = string.sub(bm, 21)
    if not seen[id] and (a == r or not gone[a]) then
      seen[id] = true
      cand[#cand + 1] = bm
    end
  end
  if #cand > 0 then
    local keys = {}
    for i, m in ipairs(cand) do keys[i] = P .. 'rm:p:' .. string.match(string.sub(m, 1, 19), '^0*(%d+)$') end
    local got = redis.call('MGET', unpack(keys))
    for i, m in ipairs(cand) do
      if got[i] ~= '' then items[#items + 1] = m; bodies[#items] = got[i] end
    end
  end
  if deep then break end
end
if deep and #items < want then return {'deep'} end
local more = 0
if #items > n then more = 1; items[n + 1] = nil end
local m = #items
local out = {'hit', more, false}
if m > 0 then
  local uk, ck, pids = {}, {}, {'#'}
  for i = 1, m do
    local id = string.match(string.sub(items[i], 1, 19), '^0*(%d+)$')
    pids[i + 1] = id
    uk[i] = P .. 'rm:u:' .. string.sub(items[i], 21)
    ck[i] = P .. 'rm:c:' .. id
  end
  local users = redis.call('MGET', unpack(uk))
  local counts = redis.call('MGET', unpack(ck))
  local liked = redis.call('HMGET', P .. 'rm:lk:{' .. r .. '}', unpack(pids))
  out[3] = liked[1]
  for i = 1, m do
    local k = #out
    out[k + 1] = pids[i + 1]; out[k + 2] = string.sub(items[i], 21); out[k + 3] = bodies[i]
    out[k + 4] = users[i]
    local l, c = false, false
    if counts[i] then
      local a, b = string.match(counts[i], '^(%d+) (%d+)$')
      l, c = tonumber(a), tonumber(b)
    end
    out[k + 5] = l; out[k + 6] = c
    local v = liked[i + 1]
    if v then v = tonumber(v) end
    out[k + 7] = v
  end
end
redis.call('EXPIRE', F, ARGV[6])
redis.call('EXPIRE', P .. 'rm:gone:{' .. r .. '}', ARGV[6])
return out`;

/** KEYS[1] a body. ARGV: ttl, bytes. Sets the body unless it is a tombstone (""). */
const PUT_POST = `if redis.call('GET', KEYS[1]) == '' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return 1`;

/** Deletes a body unless it is a tombstone. */
const FORGET_POST = `if redis.call('GET', KEYS[1]) ~= '' then redis.call('DEL', KEYS[1]) end
return 1`;

/** KEYS[1] the like set. ARGV: create (1/0), ttl, then post id, state pairs. */
const PUT_LIKED = `if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == '0' then return 0 end
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], '#', tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS[1] the reader's celebrity entry. ARGV: version read, epoch read, list, ttl. */
const SET_CELEBRITIES = `if (redis.call('HGET', KEYS[1], 'v') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'e', ARGV[2], 'l', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

const script = (SCRIPT: string, NUMBER_OF_KEYS: number) =>
  defineScript({
    SCRIPT,
    NUMBER_OF_KEYS,
    parseCommand(parser: CommandParser, keys: string[], args: (string | Buffer)[]) {
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => reply as unknown,
  });

export const READ_MODEL_SCRIPTS = {
  ...FEED_SCRIPTS,
  rmPage: script(PAGE, 1),
  rmPutPost: script(PUT_POST, 1),
  rmPutLiked: script(PUT_LIKED, 1),
  rmForgetPost: script(FORGET_POST, 1),
  rmSetCelebrities: script(SET_CELEBRITIES, 1),
};

type Reply = (Buffer | number | null)[];
const str = (b: Buffer | number | null) => (b === null ? null : b.toString());
const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class RedisReadModel implements ReadModel {
  protected readonly prefix: string;
  protected readonly timelines: RedisFeedCache;
  /** The connection's client replying with Buffers (made once: each withTypeMapping builds a proxy). */
  protected readonly binary;

  constructor(
    protected readonly redis: RedisConnection<typeof READ_MODEL_SCRIPTS>,
    protected readonly options: ReadModelOptions,
    prefix = "feedmesh:",
  ) {
    this.prefix = prefix;
    this.binary = redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    this.timelines = new RedisFeedCache(redis as unknown as RedisConnection<typeof FEED_SCRIPTS>, {
      ttlSeconds: options.ttlSeconds,
      prefix: `${prefix}tl:`,
    });
  }

  close(): Promise<void> {
    return this.redis.close();
  }

  protected k(kind: string, id: string): string {
    return `${this.prefix}rm:${kind}:${id}`;
  }

  async page(readerId: string, limit: number, before: string | null): Promise<ModelPage> {
    const args = [
      this.prefix,
      readerId,
      String(limit),
      before === null ? "" : pad(before),
      before === null ? "" : String(idTime(before)),
      String(this.options.feedTtlSeconds),
    ];
    const reply = (await this.redis.run(() => this.binary.rmPage([`${this.prefix}feed:{${readerId}}`], args))) as Reply;
    const kind = str(reply[0]!)!;
    if (kind !== "hit") return { hit: false, miss: kind as "feed", authors: reply.slice(1).map((a) => str(a)!) };
    const since = reply[2] === null ? null : Number(str(reply[2]!));
    const items: ModelItem[] = [];
    for (let i = 3; i + 6 < reply.length; i += 7) {
      const postId = str(reply[i]!)!;
      const [likes, comments, liked] = [reply[i + 4], reply[i + 5], reply[i + 6]] as (number | null)[];
      items.push({
        postId,
        authorId: str(reply[i + 1]!)!,
        post: reply[i + 2] as Buffer | null,
        user: reply[i + 3] as Buffer | null,
        counts: likes === null || comments === null ? null : { likes: likes!, comments: comments! },
        liked: liked === null ? (likeKnownAbsent(since, postId) ? false : null) : liked === 1,
      });
    }
    return { hit: true, items, next: reply[1] === 1 ? items.at(-1)!.postId : null };
  }

  async putPosts(posts: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void> {
    if (posts.length === 0) return;
    const ttl = this.options.ttlSeconds;
    await this.redis.run((c) =>
      Promise.all(
        posts.map((p) =>
          overwrite
            ? c.rmPutPost([this.k("p", p.id)], [String(ttl), buf(p.bytes)])
            : c.set(this.k("p", p.id), buf(p.bytes), { condition: "NX", expiration: { type: "EX", value: ttl } }),
        ),
      ),
    );
  }

  async deletePost(postId: string): Promise<void> {
    await this.redis.run((c) => c.set(this.k("p", postId), "", { expiration: { type: "EX", value: this.options.ttlSeconds } }));
  }

  async forgetPost(postId: string): Promise<void> {
    await this.redis.run((c) => c.rmForgetPost([this.k("p", postId)], []));
  }

  putUsers(users: { id: string; bytes: Uint8Array }[], overwrite: boolean): Promise<void> {
    return this.setMany(
      users.map((u) => [this.k("u", u.id), buf(u.bytes)]),
      overwrite,
      this.options.ttlSeconds,
    );
  }

  async dropUser(userId: string): Promise<void> {
    await this.redis.run((c) => c.unlink(this.k("u", userId)));
  }

  putCounts(counts: { postId: string; counts: Counts }[], overwrite: boolean): Promise<void> {
    return this.setMany(
      counts.map((c) => [this.k("c", c.postId), `${c.counts.likes} ${c.counts.comments}`]),
      overwrite,
      this.options.countsTtlSeconds,
    );
  }

  async forgetCounts(postId: string): Promise<void> {
    await this.redis.run((c) => c.unlink(this.k("c", postId)));
  }

  private async setMany(entries: [string, Buffer | string][], overwrite: boolean, ttl: number): Promise<void> {
    if (entries.length === 0) return;
    const expiration = { type: "EX", value: ttl } as const;
    await this.redis.run((c) =>
      Promise.all(entries.map(([k, v]) => c.set(k, v, overwrite ? { expiration } : { condition: "NX", expiration }))),
    );
  }

  async putLiked(readerId: string, states: { postId: string; liked: boolean }[], create: boolean): Promise<void> {
    await this.redis.run((c) =>
      c.rmPutLiked(
        [this.k("lk", `{${readerId}}`)],
        [create ? "1" : "0", String(this.options.ttlSeconds), ...states.flatMap((s) => [s.postId, s.liked ? "1" : "0"])],
      ),
    );
  }

  async hideAuthor(readerId: string, authorId: string): Promise<void> {
    const key = this.k("gone", `{${readerId}}`);
    await this.redis.run((c) => c.multi().hSet(key, authorId, String(Date.now())).expire(key, this.options.feedTtlSeconds).exec());
  }

  async unhideAuthor(readerId: string, authorId: string): Promise<void> {
    await this.redis.run((c) => c.hDel(this.k("gone", `{${readerId}}`), authorId));
  }

  async celebritiesChanged(readerId: string): Promise<void> {
    const key = this.k("cel", `{${readerId}}`);
    await this.redis.run((c) => c.multi().hIncrBy(key, "v", 1).hDel(key, ["e", "l"]).expire(key, 86_400).exec());
  }

  async celebrityStatesChanged(): Promise<void> {
    await this.redis.run((c) => c.incr(`${this.prefix}rm:cepoch`));
  }

  async celebrityStamp(readerId: string): Promise<CelebrityStamp> {
    const [version, epoch] = await this.redis.run((c) =>
      Promise.all([c.hGet(this.k("cel", `{${readerId}}`), "v"), c.get(`${this.prefix}rm:cepoch`)]),
    );
    return { version: String(version ?? "0"), epoch: String(epoch ?? "0") };
  }

  async setCelebrities(readerId: string, authorIds: string[], stamp: CelebrityStamp): Promise<void> {
    await this.redis.run((c) =>
      c.rmSetCelebrities([this.k("cel", `{${readerId}}`)], [stamp.version, stamp.epoch, authorIds.join(","), "86400"]),
    );
  }

  timelineAdd(entry: FeedEntry): Promise<void> {
    return this.timelines.add([entry.authorId], entry, this.options.timelineCap);
  }

  timelineRemove(entry: FeedEntry): Promise<void> {
    return this.timelines.remove([entry.authorId], entry.postId);
  }

  timelineFill(authorId: string, entries: FeedEntry[]): Promise<void> {
    return this.timelines.fill(authorId, entries, this.options.timelineCap);
  }
}
