// The post cache port: serialized posts by id, for hydration (BatchGetPosts), in front of the
// post store. Adapters: cache.memory.ts (embedded), cache.redis.ts (Redis). The same port (bytes
// by post id) caches the engagement counts; platform/cache.optional.ts defines it.
import type { KeyedBytes } from "../platform/cache.optional.js";

/** The hydration cache: serialized posts by post id (missing ids are absent from getMany's map). */
export type PostCache = KeyedBytes;
