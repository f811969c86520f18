// The cache contracts on the in-process adapters: no server needed.
import { MemoryFeedCache } from "../../services/feed/cache.memory.js";
import { MemoryPostCache } from "../../services/post/cache.memory.js";
import { feedCacheContract, postCacheContract } from "./cache.contract.js";

feedCacheContract("memory", async ({ ttlSeconds }) => new MemoryFeedCache({ ttlSeconds }));
postCacheContract("memory", async () => new MemoryPostCache());
