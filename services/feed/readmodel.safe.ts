// The read model as the services use it: never a reason to fail a call. A read that cannot reach
// it answers null (the caller takes the slow path through the services and stores); a write that
// fails is logged and left to the feed's event consumer (readmodel.events.ts), which applies the
// same change again from the event, retrying until the read model is back. Opening the Redis
// connection is retried in the background.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Runtime } from "../platform/app.js";
import type { Logger } from "../platform/log.js";
import { RedisConnection } from "../platform/redis.js";
import { MemoryFeedCache } from "./cache.memory.js";
import { memoryFeedCacheOf } from "./cache.safe.js";
import { SplitRedisReadModel } from "./readmodel.cluster.js";
import type { ModelPage, ReadModel, ReadModelWriter } from "./readmodel.js";
import { MemoryReadModel } from "./readmodel.memory.js";
import { READ_MODEL_SCRIPTS, RedisReadModel } from "./readmodel.redis.js";

type Writes = { [K in keyof ReadModelWriter]: ReadModelWriter[K] };

/** The read model's write side, as the other services get it. */
export type FeedModelWrites = Pick<SafeReadModel, "write" | "required">;

export class SafeReadModel {
  private model: ReadModel | undefined;
  private opening: Promise<void> | undefined;
  private retryAt = 0;
  /** The writes, each logged rather than thrown on failure (the event consumer repeats them). */
  readonly write: Writes;
  /**
   * The writes a call's guarantee rests on (a deleted post hidden, an unfollowed author hidden):
   * when the read model cannot take them the call fails UNAVAILABLE (the change is stored and the
   * call is safe to retry), rather than returning while a page could still show what it removed.
   */
  readonly required: Writes;

  constructor(
    private readonly open: () => Promise<ReadModel>,
    private readonly log: Logger,
  ) {
    const names: (keyof ReadModelWriter)[] = [
      "putPosts",
      "deletePost",
      "forgetPost",
      "putUsers",
      "dropUser",
      "putCounts",
      "forgetCounts",
      "putLiked",
      "hideAuthor",
      "unhideAuthor",
      "celebritiesChanged",
      "celebrityStatesChanged",
      "timelineAdd",
      "timelineRemove",
    ];
    const call = (m: ReadModel, name: keyof ReadModelWriter, args: unknown[]) => (m[name] as (...a: unknown[]) => Promise<void>)(...args);
    const writes = (fn: (name: keyof ReadModelWriter, args: unknown[]) => Promise<void>) =>
      Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => fn(name, args)])) as unknown as Writes;
    this.write = writes((name, args) => this.run(name, undefined, (m) => call(m, name, args)));
    this.required = writes(async (name, args) => {
      try {
        await this.strict((m) => call(m, name, args));
      } catch (err) {
        this.log.error({ op: name, err: (err as Error).message }, "read model unavailable for a required write");
        throw new ConnectError("the feed's read model is unavailable; the change is stored, retry the call", Code.Unavailable);
      }
    });
  }

  /** A page, or null when the read model is unreachable. */
  page(readerId: string, limit: number, before: string | null): Promise<ModelPage | null> {
    return this.run("page", null, (m) => m.page(readerId, limit, before));
  }

  /** Runs fn on the read model; throws when it is unreachable or fn fails (for the event consumer, which retries). */
  async strict<T>(fn: (m: ReadModel) => Promise<T>): Promise<T> {
    const model = await this.connected();
    if (!model) throw new Error("read model unavailable");
    return fn(model);
  }

  /** Runs fn on the read model; `fallback` when it is unreachable or fn fails. */
  async run<T>(op: string, fallback: T, fn: (m: ReadModel) => Promise<T>): Promise<T> {
    const model = await this.connected();
    if (!model) return fallback;
    try {
      return await fn(model);
    } catch (err) {
      this.log.warn({ op, err: (err as Error).message }, "read model unavailable; the event consumer repeats the write");
      return fallback;
    }
  }

  async close(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    this.retryAt = Number.POSITIVE_INFINITY;
    await model?.close();
  }

  private async connected(): Promise<ReadModel | undefined> {
    if (this.model) return this.model;
    if (Date.now() < this.retryAt) return undefined;
    this.opening ??= this.open()
      .then((m) => {
        this.model = m;
      })
      .catch((err) => {
        this.retryAt = Date.now() + 5_000;
        this.log.warn({ err: (err as Error).message }, "read model unavailable; retrying in 5 s");
      })
      .finally(() => {
        this.opening = undefined;
      });
    await this.opening;
    return this.model;
  }
}

/** How long counts stay cached: exact after every change; the TTL bounds what a raced write left. */
const COUNTS_TTL_SECONDS = 600;
/** The newest posts kept per celebrity timeline. */
const TIMELINE_CAP = 200;

const perRuntime = new WeakMap<Runtime, SafeReadModel>();

/** The read model of this process, shared by the feed and the services that write to it. */
export function readModelOf(rt: Runtime): SafeReadModel {
  let model = perRuntime.get(rt);
  if (!model) {
    const feedTtlSeconds = Math.max(1, Math.round(rt.config.FEEDMESH_FEED_INACTIVE_AFTER / 1000));
    const options = { ttlSeconds: feedTtlSeconds, countsTtlSeconds: COUNTS_TTL_SECONDS, feedTtlSeconds, timelineCap: TIMELINE_CAP };
    const open =
      rt.store.kind === "sqlite"
        ? async () => new MemoryReadModel(memoryFeedCacheOf(rt), new MemoryFeedCache({ ttlSeconds: feedTtlSeconds }), options)
        : async () => {
            const Model = rt.config.FEEDMESH_READ_MODEL_PAGE === "split" ? SplitRedisReadModel : RedisReadModel;
            return new Model(await RedisConnection.open({ url: rt.config.FEEDMESH_REDIS_URL }, READ_MODEL_SCRIPTS), options);
          };
    model = new SafeReadModel(open, rt.log.child({ component: "read-model" }));
    perRuntime.set(rt, model);
  }
  return model;
}
