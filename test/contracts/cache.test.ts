// The cache and read-model contracts on the in-process adapters: no server needed.
import { MemoryFeedCache } from "../../services/feed/cache.memory.js";
import { MemoryReadModel } from "../../services/feed/readmodel.memory.js";
import { MemoryPostCache } from "../../services/post/cache.memory.js";
import { feedCacheContract, postCacheContract } from "./cache.contract.js";
import { readModelContract } from "./readmodel.contract.js";

feedCacheContract("memory", async ({ ttlSeconds }) => new MemoryFeedCache({ ttlSeconds }));
postCacheContract("memory", async () => new MemoryPostCache());

readModelContract("memory", async ({ timelineCap }) => {
  const feeds = new MemoryFeedCache({ ttlSeconds: 60 });
  const model = new MemoryReadModel(feeds, new MemoryFeedCache({ ttlSeconds: 60 }), {
    ttlSeconds: 60,
    countsTtlSeconds: 60,
    feedTtlSeconds: 60,
    timelineCap,
  });
  return { model, feeds };
});
