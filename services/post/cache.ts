// The post cache port: serialized posts by id, for hydration (BatchGetPosts), in front of the
// post store. Adapters: cache.memory.ts (embedded), cache.redis.ts (Redis).
/** The hydration cache: serialized posts (e.g. protobuf bytes) by post id. */
export interface PostCache {
  /** The cached posts among these ids (missing ids are absent from the map). */
  getMany(postIds: string[]): Promise<Map<string, Uint8Array>>;
  setMany(entries: { postId: string; bytes: Uint8Array }[], ttlSeconds: number): Promise<void>;
  delete(postIds: string[]): Promise<void>;
}
