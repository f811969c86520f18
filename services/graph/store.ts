// The graph service's storage port. Adapters: store.sqlite.ts (embedded), store.cassandra.ts.
import type { EncodedEvent } from "../platform/events.js";

export const NONE = 0;
export const REQUESTED = 1;
export const FOLLOWING = 2;
export type EdgeState = typeof NONE | typeof REQUESTED | typeof FOLLOWING;

export interface Edge {
  userId: string;
  createTime: number;
}

export interface EdgesWith {
  outgoing: EdgeState;
  incoming: EdgeState;
  private: boolean;
}

export interface EdgeCursor {
  t: number;
  id: string;
}

export interface EdgePage {
  edges: Edge[];
  next: EdgeCursor | null;
}

/**
 * Where an account stands in the hybrid feed (docs/feed.md). REGULAR accounts are fanned out;
 * while PROMOTING, a job adds the account to each follower's celebrity index (it is still fanned
 * out); a CELEBRITY is in every follower's index and pulled, not fanned out; while DEMOTING, it is
 * fanned out again and still pulled until the fanout has pushed its pulled posts, and then a job
 * takes it out of the index.
 */
export const REGULAR = 0;
export const PROMOTING = 1;
export const CELEBRITY = 2;
export const DEMOTING = 3;
export type CelebrityState = typeof REGULAR | typeof PROMOTING | typeof CELEBRITY | typeof DEMOTING;

export interface CelebrityStatus {
  state: CelebrityState;
  /**
   * PROMOTING: when it began (it tells one promotion from another). CELEBRITY and DEMOTING: when
   * the index became complete; posts created from then on were not fanned out.
   */
  since: number;
  /** How far the running job has paged through the followers (null: from the start). */
  cursor: EdgeCursor | null;
  /** DEMOTING: whether the event asking the fanout to push the pulled posts was written. */
  announced: boolean;
}

export const NOT_CELEBRITY: CelebrityStatus = { state: REGULAR, since: 0, cursor: null, announced: false };

/** Whether a new follower of an account in this state gets an index row. */
export function indexesFollowers(state: CelebrityState): boolean {
  return state === PROMOTING || state === CELEBRITY;
}

/** Builds the event of a change, given the followee's follower count after it. */
export type EventFor = (followerCount: number) => EncodedEvent;

export interface GraphStore {
  /** The state of the edge follower → followee. */
  edge(followerId: string, followeeId: string): Promise<EdgeState>;
  isPrivate(userId: string): Promise<boolean>;
  /** The edges between a user and each of several others, both ways, and which of them are private. */
  edgesWith(userId: string, others: string[]): Promise<Map<string, EdgesWith>>;
  /** Creates the edge in the given state unless one exists; returns the resulting state. */
  addEdge(followerId: string, followeeId: string, state: EdgeState, now: number, event: EventFor): Promise<EdgeState>;
  /** Removes the edge; returns its former state. The event is appended only if it was FOLLOWING. */
  removeEdge(followerId: string, followeeId: string, event: EventFor): Promise<EdgeState>;
  /** Turns a REQUESTED edge into FOLLOWING; returns false if there was no request. */
  approve(followerId: string, followeeId: string, now: number, event: EventFor): Promise<boolean>;
  /** Followers (or requesters) of a user, newest first. */
  listIncoming(userId: string, state: EdgeState, limit: number, after: EdgeCursor | null): Promise<EdgePage>;
  /** Accounts a user follows, newest first, optionally only those with many followers. */
  listOutgoing(userId: string, limit: number, after: EdgeCursor | null, minFollowers: number): Promise<EdgePage>;
  /** The accounts in a user's celebrity index, newest edge first (one partition). */
  listCelebrities(userId: string, limit: number, after: EdgeCursor | null): Promise<EdgePage>;
  counts(userId: string): Promise<{ followers: number; following: number }>;
  /** Sets the privacy flag and appends its event; making an account public approves requests. */
  setPrivate(
    userId: string,
    isPrivate: boolean,
    event: EncodedEvent,
    approved: (followerId: string, count: number) => EncodedEvent,
  ): Promise<void>;

  // The celebrity index. addEdge, approve and removeEdge keep it: a FOLLOWING edge gets its row
  // when the followee's state indexes followers (PROMOTING, CELEBRITY), and loses it when removed.

  celebrity(userId: string): Promise<CelebrityStatus>;
  /** Moves an account from `from` to `to` (REGULAR forgets it) if it still is at `from` (state, since). */
  moveCelebrity(userId: string, from: CelebrityStatus, to: { state: CelebrityState; since: number }): Promise<boolean>;
  /** Records a job's progress unless the account moved on from `status`; returns whether it did. */
  saveCursor(userId: string, status: CelebrityStatus, cursor: EdgeCursor): Promise<boolean>;
  /** Appends the event and marks the (DEMOTING) status announced, together. */
  announce(userId: string, status: CelebrityStatus, event: EncodedEvent): Promise<void>;
  /**
   * Adds (or removes) the index rows of one page of an account's followers, those after the
   * cursor, newest first; returns the cursor after the page, or null at the end. A row added
   * here never outlives an unfollow that happens meanwhile.
   */
  indexFollowers(followeeId: string, after: EdgeCursor | null, limit: number, add: boolean): Promise<EdgeCursor | null>;
  /**
   * Brings one follower's row in line with the edge and the followee's state, after the write
   * that decided it (a follow racing with the start of a promotion, an unfollow racing with a
   * job). While the followee is DEMOTING, rows of current followers stay.
   */
  reconcile(followerId: string, followeeId: string): Promise<void>;
}
