// One connection to Redis (node-redis), shared by the cache adapters of a process: fails fast
// when Redis is unreachable at start, never hangs a caller afterwards (calls fail at once while
// disconnected and race a timeout), reconnects in the background.
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import { createClient, type RedisScripts } from "redis";

export interface RedisOptions {
  url: string;
  /** Connect timeout, and the first connect's whole budget (ms). */
  connectTimeoutMs?: number;
  /** Every call fails after this long without a reply (ms). */
  commandTimeoutMs?: number;
  /** Called with connection errors (the client reconnects in the background). */
  onError?: (err: Error) => void;
}

function makeClient<S extends RedisScripts>(options: RedisOptions, state: { ready: boolean }, scripts: S) {
  return createClient({
    url: options.url,
    scripts,
    disableOfflineQueue: true,
    // No per-command timeout in node-redis (0; its default is 5 s): it arms an AbortSignal.timeout
    // per command that fires (building a DOMException) even after the reply came, ~10 µs a
    // command. run() races its own timer, cleared on the reply; a dead connection is found by the pings.
    commandOptions: { timeout: 0 },
    pingInterval: 5_000,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      // Before the first connection: give up at once, so open() fails fast. After: back off, up
      // to 2 s between attempts, forever (calls fail meanwhile, rather than queue).
      reconnectStrategy: (retries: number, cause: Error) =>
        state.ready ? Math.min(50 * 2 ** retries, 2000) : new Error(`redis unreachable at ${options.url}: ${cause.message}`),
    },
  });
}

type Client<S extends RedisScripts> = ReturnType<typeof makeClient<S>>;

/** One connection to Redis, shared by the cache adapters. */
export class RedisConnection<S extends RedisScripts = Record<string, never>> {
  private closed = false;
  private quietUntil = 0;

  private constructor(
    readonly client: Client<S>,
    private readonly commandTimeoutMs: number,
  ) {
    client.on("ready", () => {
      this.quietUntil = 0; // a new connection: try it at once
    });
  }

  /** Connects, or throws when Redis can't be reached within the connect timeout. */
  static async open<S extends RedisScripts = Record<string, never>>(
    options: RedisOptions,
    scripts: S = {} as S,
  ): Promise<RedisConnection<S>> {
    const state = { ready: false };
    const client = makeClient(options, state, scripts);
    client.on("error", (err: Error) => options.onError?.(err));
    client.on("ready", () => {
      state.ready = true;
    });
    // The connect timeout bounds the TCP connect only; the handshake that follows gets no
    // timeout of its own (a server that accepts but never answers would hang it): race it.
    const budget = options.connectTimeoutMs ?? 2000;
    // Outside any request's trace: the connection's pings and reconnects are not part of it.
    const connecting = context.with(ROOT_CONTEXT, () => client.connect());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis unreachable at ${options.url}: no answer within ${budget} ms`)), budget);
        }),
      ]);
    } catch (err) {
      connecting.catch(() => {});
      try {
        client.destroy();
      } catch {
        // already closed by the reconnect strategy
      }
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
    return new RedisConnection<S>(client, options.commandTimeoutMs ?? 1000);
  }

  /** Runs a call: fails at once when disconnected, and after the command timeout when Redis is slow. */
  async run<T>(call: (client: Client<S>) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("redis cache: connection closed");
    if (!this.client.isReady) throw new Error("redis cache unavailable: not connected");
    // After a call went unanswered, calls fail at once for as long again (one probe gets through
    // then): a hung server does not pile up commands in the client while callers keep trying.
    if (Date.now() < this.quietUntil)
      throw new Error(`redis cache: no reply within ${this.commandTimeoutMs} ms to a recent call; trying again shortly`);
    const pending = call(this.client);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.quietUntil = Date.now() + this.commandTimeoutMs;
        reject(new Error(`redis cache: no reply within ${this.commandTimeoutMs} ms`));
      }, this.commandTimeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
      pending.catch(() => {}); // a late failure of a call that already timed out
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A graceful close waits for the replies of pending commands: a hung server would hold it
    // forever, so it gets the command timeout, then the connection is destroyed.
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.client.close().then(
      () => true,
      () => false,
    );
    const done = await Promise.race([graceful, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.commandTimeoutMs)))]);
    clearTimeout(timer);
    if (!done) this.client.destroy();
  }
}

/** Items in batches (of readers or posts per pipeline). */
export function chunks<T>(items: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
