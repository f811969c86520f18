// The read model on Redis with every command on a single key: the variant a Redis Cluster needs,
// where one script may only touch keys of one hash slot. The keys are those of readmodel.redis.ts
// (a reader's own keys share the `{readerId}` hash tag; bodies, profiles, counts and timelines
// are spread by their own ids), and so are the writes; only the page differs. It is merged in
// Node (readmodel.merge.ts) over 3 rounds of pipelined single-key commands, 4 when the reader
// follows celebrities:
//   1. the reader's feed (one single-key script), celebrity list, hidden authors, celebrity epoch;
//   2. the followed celebrities' timelines (one script each), only with celebrities;
//   3. the bodies of the merged candidates (one GET each; a tombstone makes the page refill);
//   4. profiles and counts (one GET each), the like states (one HMGET), the feed's idle expiry.
// Each round is one socket write here; in a cluster it would be one write per node involved, in
// parallel. FEEDMESH_READ_MODEL_PAGE=split selects it; make bench measures it beside the script.
import { RedisFeedCache } from "./cache.redis.js";
import type { ModelPage } from "./readmodel.js";
import { mergedPage, type PageParts } from "./readmodel.merge.js";
import { RedisReadModel } from "./readmodel.redis.js";

type Bytes = Buffer | null;

export class SplitRedisReadModel extends RedisReadModel {
  private readonly feeds = new RedisFeedCache(this.redis, { ttlSeconds: this.options.feedTtlSeconds, prefix: this.prefix });

  private readonly parts: PageParts = {
    feeds: this.feeds,
    timelines: this.timelines,
    state: async (readerId) => {
      const [cel, epoch, gone] = await this.redis.run((c) =>
        Promise.all([
          c.hmGet(this.k("cel", `{${readerId}}`), ["e", "l"]),
          c.get(`${this.prefix}rm:cepoch`),
          c.hKeys(this.k("gone", `{${readerId}}`)),
        ]),
      );
      const [e, list] = cel as (string | null)[];
      const current = typeof list === "string" && e === (epoch ?? "0");
      return { celebrities: current ? (list === "" ? [] : list!.split(",")) : null, gone: new Set(gone) };
    },
    bodies: (postIds) => this.gets(postIds.map((id) => this.k("p", id))),
    hydrate: async (readerId, entries) => {
      const ids = entries.map((e) => e.postId);
      const [users, counts, liked] = await this.redis.run((c) =>
        Promise.all([
          this.gets(entries.map((e) => this.k("u", e.authorId))),
          this.gets(ids.map((id) => this.k("c", id))),
          c.hmGet(this.k("lk", `{${readerId}}`), ["#", ...ids]),
          c.expire(`${this.prefix}feed:{${readerId}}`, this.options.feedTtlSeconds),
          c.expire(this.k("gone", `{${readerId}}`), this.options.feedTtlSeconds),
        ]),
      );
      const [since, ...states] = liked as (string | null)[];
      return {
        users,
        counts: counts.map((b) => {
          const v = b === null ? null : b.toString();
          const [likes, comments] = (v ?? "").split(" ");
          return v === null ? null : { likes: Number(likes), comments: Number(comments) };
        }),
        liked: states.map((v) => (v === null ? undefined : v === "1")),
        likedSince: since == null ? null : Number(since),
      };
    },
  };

  /** One GET per key, pipelined (never MGET: the keys lie in different slots). */
  private gets(keys: string[]): Promise<Bytes[]> {
    return this.redis.run(() => {
      const pipe = this.binary.multi();
      for (const k of keys) pipe.get(k);
      return pipe.execAsPipeline() as Promise<unknown> as Promise<Bytes[]>;
    });
  }

  override page(readerId: string, limit: number, before: string | null): Promise<ModelPage> {
    return mergedPage(this.parts, readerId, limit, before);
  }
}
