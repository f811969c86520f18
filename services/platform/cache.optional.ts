// A read-through cache that is optional: opened on first use (and again 5 s after a failure),
// and when it is unreachable, reads go to the store and writes are skipped. Values are JSON by
// key. A failed invalidation leaves a stale entry for at most the TTL (logged as an error).
// Used in front of the post store (hydration) and the engagement counts.

/** The cache port: bytes by post id, with an expiry. Adapters: post/cache.memory.ts, post/cache.redis.ts. */
export interface KeyedBytes {
  getMany(keys: string[]): Promise<Map<string, Uint8Array>>;
  setMany(entries: { postId: string; bytes: Uint8Array }[], ttlSeconds: number): Promise<void>;
  delete(keys: string[]): Promise<void>;
}

interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class OptionalCache<T> {
  private cache: KeyedBytes | undefined;
  private retryAt = 0;
  private opening: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    private readonly open: () => Promise<KeyedBytes>,
    readonly ttlSeconds: number,
    private readonly log: Log,
  ) {}

  /** The cached values among these keys; none when the cache is unreachable. */
  async get(keys: string[]): Promise<Map<string, T>> {
    const cache = await this.connected();
    const found = new Map<string, T>();
    if (!cache || keys.length === 0) return found;
    try {
      for (const [k, bytes] of await cache.getMany(keys)) found.set(k, JSON.parse(Buffer.from(bytes).toString()) as T);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, `${this.what}: unavailable; reading the store`);
    }
    return found;
  }

  async set(entries: [string, T][]): Promise<void> {
    const cache = await this.connected();
    if (!cache || entries.length === 0) return;
    const rows = entries.map(([postId, v]) => ({ postId, bytes: Buffer.from(JSON.stringify(v)) }));
    await cache.setMany(rows, this.ttlSeconds).catch(() => undefined);
  }

  async invalidate(keys: string[]): Promise<void> {
    const cache = await this.connected();
    await cache
      ?.delete(keys)
      .catch((err) =>
        this.log.error({ keys, err: (err as Error).message, staleForAtMostSeconds: this.ttlSeconds }, `${this.what}: invalidation failed`),
      );
  }

  private async connected(): Promise<KeyedBytes | undefined> {
    if (this.cache || Date.now() < this.retryAt) return this.cache;
    this.opening ??= this.open()
      .then((c) => {
        this.cache = c;
      })
      .catch((err) => {
        this.retryAt = Date.now() + 5_000;
        this.log.warn({ err: (err as Error).message }, `${this.what}: unavailable; retrying in 5 s`);
      })
      .finally(() => {
        this.opening = undefined;
      });
    await this.opening;
    return this.cache;
  }
}
