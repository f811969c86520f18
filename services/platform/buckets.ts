// Time buckets that keep wide partitions bounded: one partition per (owner, month) for
// timelines and feeds. Ids are time-ordered, so an id tells its bucket.
import { idTime } from "./ids.js";

/** The month bucket of a time, as yyyymm (UTC). */
export function monthOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}

export function monthOfId(id: string): number {
  return monthOf(idTime(id));
}
