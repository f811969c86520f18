// The live side of the inbox, for StreamNotifications. The event consumer of this process hands
// each new notification to the open streams of its recipient at once. A look at the inbox every
// few seconds catches what another process of the same target stored: with several notification
// processes, Kafka splits each topic's partitions among them, so a stream's process does not see
// every event itself. A stream thus misses nothing stored while it is open.
import type { NotificationRecord } from "./store.js";

type Listener = (n: NotificationRecord) => void;

/** How many of the newest notifications a look at the inbox reads. */
export const RECENT = 50;
/** How many notification ids a stream remembers as sent. */
const REMEMBERED = 1_000;

export class LiveInbox {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    /** The recipient's newest notifications (up to RECENT), newest first. */
    private readonly recent: (recipientId: string) => Promise<NotificationRecord[]>,
    private readonly pollMs: number,
  ) {}

  /** Hands a notification just stored to the open streams of its recipient. */
  publish(n: NotificationRecord): void {
    for (const listener of this.listeners.get(n.recipientId) ?? []) listener(n);
  }

  /** The notifications of one recipient stored from now on, until the signal aborts. */
  async *watch(recipientId: string, signal: AbortSignal): AsyncGenerator<NotificationRecord> {
    const queue: NotificationRecord[] = [];
    const sent = new Set<string>();
    let wake: (() => void) | undefined;
    const offer = (n: NotificationRecord) => {
      if (sent.has(n.notificationId)) return;
      sent.add(n.notificationId);
      if (sent.size > REMEMBERED) sent.delete(sent.values().next().value!);
      queue.push(n);
      wake?.();
    };
    const listeners = this.listeners.get(recipientId) ?? new Set<Listener>();
    this.listeners.set(recipientId, listeners.add(offer));
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      // What the inbox holds already is not new.
      for (const n of await this.recent(recipientId)) sent.add(n.notificationId);
      let nextLook = Date.now() + this.pollMs;
      while (!signal.aborted) {
        const n = queue.shift();
        if (n) {
          yield n;
          continue;
        }
        if (Date.now() >= nextLook) {
          for (const stored of (await this.recent(recipientId)).reverse()) offer(stored);
          nextLook = Date.now() + this.pollMs;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, nextLook - Date.now());
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      listeners.delete(offer);
      if (listeners.size === 0) this.listeners.delete(recipientId);
    }
  }
}
