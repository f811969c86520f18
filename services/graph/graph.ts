// The graph domain: follow edges, follow requests, privacy, and who may see whose lists.

import { invalidField, notFound, permissionDenied } from "../platform/errors.js";
import { encodeEvent } from "../platform/events.js";
import { CELEBRITY, type Edge, type EdgeCursor, type EdgePage, type EdgeState, FOLLOWING, type GraphStore, REQUESTED } from "./store.js";

export interface Relationship {
  userId: string;
  outgoing: EdgeState;
  incoming: EdgeState;
  targetPrivate: boolean;
}

/** Checks that a user exists (the identity service owns users). */
export type UserExists = (userId: string) => Promise<boolean>;

/**
 * What the home feed's read model learns before a call returns (feed/readmodel.ts): a follow
 * that ended hides the author from the former follower's pages at once; one that began shows it.
 */
export interface FeedVisibility {
  followed(readerId: string, authorId: string): Promise<void>;
  /** Throws (UNAVAILABLE) when it cannot be recorded: the call must not return as if it were. */
  unfollowed(readerId: string, authorId: string): Promise<void>;
}

export class Graph {
  constructor(
    private readonly store: GraphStore,
    private readonly userExists: UserExists,
    private readonly celebrityThreshold: number,
    private readonly feed: FeedVisibility,
  ) {}

  async follow(me: string, target: string): Promise<Relationship> {
    if (me === target) throw invalidField("user_id", "you cannot follow yourself");
    if (!(await this.userExists(target))) throw notFound(`user ${target}`);
    const state = (await this.store.isPrivate(target)) ? REQUESTED : FOLLOWING;
    await this.store.addEdge(me, target, state, Date.now(), (count) =>
      state === FOLLOWING
        ? encodeEvent("follows", me, {
            event: { case: "followed", value: { followerId: me, followeeId: target, followeeFollowerCount: BigInt(count) } },
          })
        : encodeEvent("follows", me, { event: { case: "requested", value: { followerId: me, followeeId: target } } }),
    );
    if (state === FOLLOWING) await this.feed.followed(me, target);
    return this.relationship(me, target);
  }

  async unfollow(me: string, target: string): Promise<Relationship> {
    if (me === target) throw invalidField("user_id", "you cannot unfollow yourself");
    await this.store.removeEdge(me, target, (count) => unfollowed(me, target, count));
    await this.feed.unfollowed(me, target);
    return this.relationship(me, target);
  }

  async relationship(me: string, other: string): Promise<Relationship> {
    return (await this.relationships(me, [other]))[0]!;
  }

  /** The relationships with several users, in the order asked, without duplicates. */
  async relationships(me: string, others: string[]): Promise<Relationship[]> {
    const unique = [...new Set(others)];
    const edges = await this.store.edgesWith(me, unique);
    return unique.map((userId) => {
      const e = edges.get(userId)!;
      return { userId, outgoing: e.outgoing, incoming: e.incoming, targetPrivate: e.private };
    });
  }

  /** A private account's lists are visible to itself, its approved followers and services. */
  async checkVisible(viewer: string | null, owner: string): Promise<void> {
    if (viewer === null || viewer === owner) return;
    if ((await this.store.isPrivate(owner)) && (await this.store.edge(viewer, owner)) !== FOLLOWING) {
      throw permissionDenied(`the account ${owner} is private`);
    }
  }

  async followers(viewer: string | null, owner: string, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    await this.checkVisible(viewer, owner);
    return this.store.listIncoming(owner, FOLLOWING, limit, after);
  }

  /**
   * At or above the celebrity threshold, the list is the owner's celebrity index (one partition;
   * above the threshold, filtered by count). Below it, the following list filtered by count.
   */
  async following(viewer: string | null, owner: string, limit: number, after: EdgeCursor | null, minFollowers: number): Promise<EdgePage> {
    await this.checkVisible(viewer, owner);
    if (minFollowers < this.celebrityThreshold) return this.store.listOutgoing(owner, limit, after, minFollowers);
    if (minFollowers === this.celebrityThreshold) return this.store.listCelebrities(owner, limit, after);
    const out: Edge[] = [];
    for (let cursor = after; ; ) {
      const page = await this.store.listCelebrities(owner, Math.max(limit, 100), cursor);
      const counts = await Promise.all(page.edges.map((e) => this.store.counts(e.userId)));
      for (const [i, e] of page.edges.entries()) {
        if (counts[i]!.followers < minFollowers) continue;
        out.push(e);
        if (out.length === limit) return { edges: out, next: { t: e.createTime, id: e.userId } };
      }
      if (!page.next) return { edges: out, next: null };
      cursor = page.next;
    }
  }

  counts(userId: string) {
    return this.store.counts(userId);
  }

  /** When the account became a celebrity (its posts pulled, not fanned out), or null. */
  async celebritySince(userId: string): Promise<number | null> {
    const status = await this.store.celebrity(userId);
    return status.state === CELEBRITY ? status.since : null;
  }

  requests(me: string, limit: number, after: EdgeCursor | null): Promise<EdgePage> {
    return this.store.listIncoming(me, REQUESTED, limit, after);
  }

  async approve(me: string, requester: string): Promise<void> {
    const ok = await this.store.approve(requester, me, Date.now(), (count) =>
      encodeEvent("follows", requester, {
        event: { case: "followed", value: { followerId: requester, followeeId: me, followeeFollowerCount: BigInt(count) } },
      }),
    );
    if (!ok && (await this.store.edge(requester, me)) !== FOLLOWING) throw notFound(`follow request from ${requester}`);
    await this.feed.followed(requester, me);
  }

  async reject(me: string, requester: string): Promise<void> {
    if ((await this.store.edge(requester, me)) !== REQUESTED) throw notFound(`follow request from ${requester}`);
    await this.store.removeEdge(requester, me, (count) => unfollowed(requester, me, count));
  }

  async removeFollower(me: string, follower: string): Promise<void> {
    await this.store.removeEdge(follower, me, (count) => unfollowed(follower, me, count)); // idempotent
    await this.feed.unfollowed(follower, me); // also on a repeat: a first attempt may have failed here
  }

  isPrivate(userId: string): Promise<boolean> {
    return this.store.isPrivate(userId);
  }

  async setPrivate(me: string, isPrivate: boolean): Promise<void> {
    await this.store.setPrivate(
      me,
      isPrivate,
      encodeEvent("follows", me, { event: { case: "privacyChanged", value: { userId: me, private: isPrivate } } }),
      (followerId, count) =>
        encodeEvent("follows", followerId, {
          event: { case: "followed", value: { followerId, followeeId: me, followeeFollowerCount: BigInt(count) } },
        }),
    );
  }
}

function unfollowed(follower: string, followee: string, count: number) {
  return encodeEvent("follows", follower, {
    event: { case: "unfollowed", value: { followerId: follower, followeeId: followee, followeeFollowerCount: BigInt(count) } },
  });
}
