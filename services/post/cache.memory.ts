// The post cache in process (the embedded mode): a bounded map, least recently used first out.
import type { PostCache } from "./cache.js";

export interface MemoryPostCacheOptions {
  /** At most this many posts are kept (least recently set evicted first). */
  maxEntries?: number;
}

export class MemoryPostCache implements PostCache {
  private readonly posts = new Map<string, { bytes: Uint8Array; expiresAt: number }>();
  private readonly maxEntries: number;

  constructor(options: MemoryPostCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async getMany(postIds: string[]): Promise<Map<string, Uint8Array>> {
    const now = Date.now();
    const out = new Map<string, Uint8Array>();
    for (const id of postIds) {
      const hit = this.posts.get(id);
      if (!hit) continue;
      if (hit.expiresAt <= now) this.posts.delete(id);
      else out.set(id, hit.bytes.slice());
    }
    return out;
  }

  async setMany(entries: { postId: string; bytes: Uint8Array }[], ttlSeconds: number): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    for (const { postId, bytes } of entries) {
      this.posts.delete(postId);
      this.posts.set(postId, { bytes: bytes.slice(), expiresAt });
    }
    for (const id of this.posts.keys()) {
      if (this.posts.size <= this.maxEntries) break;
      this.posts.delete(id);
    }
  }

  async delete(postIds: string[]): Promise<void> {
    for (const id of postIds) this.posts.delete(id);
  }
}
