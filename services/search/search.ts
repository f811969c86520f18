// The search domain: what is indexed (the folded words of live posts' captions, their #hashtags;
// usernames and folded display names, from events), how a query reads, and pages of results the
// caller may see. Visibility is the post service's: candidates from the index go through
// BatchGetPosts as the caller, which drops deleted posts and those of private accounts the caller
// does not follow, so a page may take several rounds of the index.

import { invalidField } from "../platform/errors.js";
import type { Delivery } from "../platform/events.js";
import { compareIds } from "../platform/ids.js";
import type { IndexedUser, SearchStore } from "./store.js";

const TERM = /[\p{L}\p{N}_]+/gu;
const QUERY_TERM = /(#?)([\p{L}\p{N}_]+)/gu;
const HASHTAG = /^[\p{L}\p{N}_]{1,100}$/u;
export const MAX_TERM_LENGTH = 100;
const MAX_POST_TERMS = 300;
export const MAX_QUERY_TERMS = 8;
/** A likes-ordered search ranks the newest matches, up to this many. */
const LIKES_WINDOW = 500;
/** Rounds of index reads one page may take when the caller may not see some of the matches. */
const MAX_ROUNDS = 10;

/** Lowercase, without diacritics, compatibility forms unified: "Été" and "ete" are one term. */
export function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .normalize("NFKC");
}

/** The key a display name is found by: folded, spaces collapsed. */
export function nameKey(displayName: string): string {
  return fold(displayName).trim().replace(/\s+/g, " ");
}

/** A post's index terms: its hashtags as "#tag", then the words of its caption. */
export function postTerms(caption: string, hashtags: string[]): string[] {
  const terms = new Set<string>();
  for (const tag of hashtags) if (HASHTAG.test(fold(tag))) terms.add(`#${fold(tag)}`);
  for (const [word] of fold(caption).matchAll(TERM)) if (word.length <= MAX_TERM_LENGTH) terms.add(word);
  return [...terms].slice(0, MAX_POST_TERMS);
}

/** The terms of a post query ("#sunset beach" → ["#sunset", "beach"]); bad queries are INVALID_ARGUMENT. */
export function queryTerms(query: string): string[] {
  const terms = [...new Set([...fold(query).matchAll(QUERY_TERM)].map(([, hash, word]) => `${hash}${word}`))];
  if (terms.length === 0) throw invalidField("query", "must contain a word or a #hashtag");
  if (terms.length > MAX_QUERY_TERMS) throw invalidField("query", `must have at most ${MAX_QUERY_TERMS} words and hashtags`);
  if (terms.some((t) => t.replace(/^#/, "").length > MAX_TERM_LENGTH)) {
    throw invalidField("query", `words and hashtags must be at most ${MAX_TERM_LENGTH} characters`);
  }
  return terms;
}

/** The prefix of a user query ("@Ali" → "ali"); a query of nothing findable is INVALID_ARGUMENT. */
export function userPrefix(query: string): string {
  const prefix = nameKey(query).replace(/^@/, "");
  if (prefix === "") throw invalidField("query", "must contain a letter, a digit, '.' or '_'");
  return prefix;
}

/** The posts among these ids that the caller may see, in the same order. */
export type Visible<T> = (postIds: string[]) => Promise<T[]>;

export interface LikesCursor {
  /** The like count and the id of the last post ranked. */
  l: number;
  p: string;
}

export class Search {
  constructor(private readonly store: SearchStore) {}

  async onPost({ event }: Delivery<"posts">): Promise<void> {
    const e = event.event;
    if (e.case === "created" || e.case === "edited")
      await this.store.indexPost(e.value.postId, postTerms(e.value.caption, e.value.hashtags));
    else if (e.case === "deleted") await this.store.removePost(e.value.postId);
  }

  async onUser({ event }: Delivery<"users">): Promise<void> {
    const e = event.event;
    if (e.case !== "created" && e.case !== "updated") return;
    await this.store.indexUser({ userId: e.value.userId, username: e.value.username, displayKey: nameKey(e.value.displayName) });
  }

  async onEngagement({ event }: Delivery<"engagement">): Promise<void> {
    const e = event.event;
    if (e.case === "liked" || e.case === "unliked") await this.store.setLikeCount(e.value.postId, Number(e.value.likeCount));
  }

  /** The newest matches the caller may see, with ids below the cursor. */
  async postsByDate<T>(
    terms: string[],
    limit: number,
    before: string | null,
    visible: Visible<T>,
  ): Promise<{ posts: T[]; next: string | null }> {
    const posts: T[] = [];
    let cursor = before;
    for (let round = 0; round < MAX_ROUNDS && posts.length < limit; round++) {
      const hits = await this.store.findPosts(terms, limit - posts.length, cursor);
      if (hits.ids.length > 0) posts.push(...(await visible(hits.ids)));
      cursor = hits.next;
      if (cursor === null) break;
    }
    return { posts, next: cursor };
  }

  /** The most liked of the newest LIKES_WINDOW matches, the caller may see, after the cursor. */
  async postsByLikes<T>(
    terms: string[],
    limit: number,
    after: LikesCursor | null,
    visible: Visible<T>,
  ): Promise<{ posts: T[]; next: LikesCursor | null }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < MAX_ROUNDS && ids.length < LIKES_WINDOW; round++) {
      const hits = await this.store.findPosts(terms, Math.min(100, LIKES_WINDOW - ids.length), cursor);
      ids.push(...hits.ids);
      cursor = hits.next;
      if (cursor === null) break;
    }
    const likes = await this.store.likeCounts(ids);
    const ranked = ids.map((p) => ({ p, l: likes.get(p) ?? 0 })).sort((a, b) => b.l - a.l || compareIds(b.p, a.p));
    const ranksAfter = (r: LikesCursor) => !after || r.l < after.l || (r.l === after.l && compareIds(r.p, after.p) < 0);
    let i = ranked.findIndex(ranksAfter);
    if (i < 0) i = ranked.length;
    const posts: T[] = [];
    while (posts.length < limit && i < ranked.length) {
      const chunk = ranked.slice(i, i + limit - posts.length);
      i += chunk.length;
      posts.push(...(await visible(chunk.map((r) => r.p))));
    }
    return { posts, next: i < ranked.length ? ranked[i - 1]! : null };
  }

  /** Users whose username or display name starts with the prefix, by username, after a username. */
  async users(prefix: string, limit: number, after: string | null): Promise<{ users: IndexedUser[]; next: string | null }> {
    const found = await this.store.findUsers(prefix, limit + 1, after);
    const users = found.slice(0, limit);
    return { users, next: found.length > limit ? users.at(-1)!.username : null };
  }
}
