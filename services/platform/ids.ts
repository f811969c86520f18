// Time-ordered 64-bit ids (Snowflake layout), rendered as decimal strings so they are JSON-safe:
// 41 bits of milliseconds since 2025-01-01, 10 bits of worker id, 12 bits of sequence.
// Sorting ids sorts by creation time, which the feed and its page tokens rely on.
import { randomInt } from "node:crypto";

/** The ids' epoch (2025-01-01T00:00:00Z). */
export const ID_EPOCH_MS = 1735689600000;
const EPOCH = BigInt(ID_EPOCH_MS);
const WORKER_BITS = 10n;
const SEQ_BITS = 12n;
const MAX_SEQ = (1n << SEQ_BITS) - 1n;

export class IdGenerator {
  private lastMs = 0n;
  private seq = 0n;
  private readonly worker: bigint;

  constructor(worker = randomInt(1024)) {
    if (worker < 0 || worker > 1023) throw new Error("worker id must be in [0, 1023]");
    this.worker = BigInt(worker);
  }

  next(now = Date.now()): string {
    let ms = BigInt(now);
    if (ms < this.lastMs) ms = this.lastMs; // the clock went back: stay monotonic
    if (ms === this.lastMs) {
      this.seq = (this.seq + 1n) & MAX_SEQ;
      if (this.seq === 0n) ms = this.lastMs + 1n; // sequence exhausted: borrow the next millisecond
    } else {
      this.seq = 0n;
    }
    this.lastMs = ms;
    return (((ms - EPOCH) << (WORKER_BITS + SEQ_BITS)) | (this.worker << SEQ_BITS) | this.seq).toString();
  }
}

/** The creation time encoded in an id, in milliseconds since the Unix epoch. */
export function idTime(id: string): number {
  return Number((BigInt(id) >> (WORKER_BITS + SEQ_BITS)) + EPOCH);
}

/** The smallest id that any generator could produce at a time (for time-based cursors). */
export function minIdAt(ms: number): string {
  return ((BigInt(ms) - EPOCH) << (WORKER_BITS + SEQ_BITS)).toString();
}

/** Compares two decimal ids numerically. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export const ids = new IdGenerator(process.env.FEEDMESH_WORKER_ID ? Number(process.env.FEEDMESH_WORKER_ID) : undefined);
