// What a caption says beyond its text: hashtags and mentions, lowercase, in order, unique.
const HASHTAG = /(?:^|[^\p{L}\p{N}_&])#([\p{L}\p{N}_]{1,100})/gu;
const MENTION = /(?:^|[^\p{L}\p{N}_.@])@([A-Za-z0-9._]{1,30})/gu;

function unique(matches: IterableIterator<RegExpMatchArray>, max: number): string[] {
  const out = new Set<string>();
  for (const m of matches) {
    if (m[1]) out.add(m[1].toLowerCase().replace(/\.+$/, ""));
    if (out.size >= max) break;
  }
  return [...out].filter((s) => s !== "");
}

export function hashtags(caption: string): string[] {
  return unique(caption.matchAll(HASHTAG), 30);
}

export function mentions(caption: string): string[] {
  return unique(caption.matchAll(MENTION), 20);
}
