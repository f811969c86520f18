// Small concurrency helpers shared by the event buses.

/** Runs fn over the items, at most `limit` at a time; rejects with the first failure. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Groups items by key, keeping their order within each key. */
export function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** How many keys of one batch a consumer works at once (each key's events stay in order). */
export const KEYS_IN_FLIGHT = 8;
