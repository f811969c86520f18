// The post cache on Redis: one string per post ({prefix}post:<postId>), with an expiry; reads and
// writes in pipelined batches.
import { RESP_TYPES, type RedisScripts } from "redis";
import { chunks, type RedisConnection } from "../platform/redis.js";
import type { PostCache } from "./cache.js";

export interface RedisPostCacheOptions {
  /** Key prefix (default "feedmesh:"). */
  prefix?: string;
}

export class RedisPostCache<S extends RedisScripts = Record<string, never>> implements PostCache {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection<S>,
    options: RedisPostCacheOptions = {},
  ) {
    this.prefix = options.prefix ?? "feedmesh:";
  }

  private key(postId: string): string {
    return `${this.prefix}post:${postId}`;
  }

  async getMany(postIds: string[]): Promise<Map<string, Uint8Array>> {
    const ids = [...new Set(postIds)];
    const out = new Map<string, Uint8Array>();
    if (ids.length === 0) return out;
    const parts = chunks(ids);
    const replies = await this.redis.run((c) => {
      const binary = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      return Promise.all(parts.map((part) => binary.mGet(part.map((id) => this.key(id)))));
    });
    parts.forEach((part, i) => {
      part.forEach((id, j) => {
        const bytes = replies[i]![j];
        if (bytes) out.set(id, new Uint8Array(bytes));
      });
    });
    return out;
  }

  async setMany(entries: { postId: string; bytes: Uint8Array }[], ttlSeconds: number): Promise<void> {
    if (entries.length === 0) return;
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    await this.redis.run((c) =>
      Promise.all(
        chunks(entries).map((part) => {
          const pipe = c.multi();
          for (const e of part) {
            pipe.set(this.key(e.postId), Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength), {
              expiration: { type: "EX", value: ttl },
            });
          }
          return pipe.execAsPipeline();
        }),
      ),
    );
  }

  async delete(postIds: string[]): Promise<void> {
    if (postIds.length === 0) return;
    await this.redis.run((c) => Promise.all(chunks(postIds).map((part) => c.unlink(part.map((id) => this.key(id))))));
  }
}
