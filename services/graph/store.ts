// The graph service's storage port. Adapters: store.sqlite.ts (embedded).
import type { EncodedEvent } from "../platform/events.js";

export const NONE = 0;
export const REQUESTED = 1;
export const FOLLOWING = 2;
export type EdgeState = typeof NONE | typeof REQUESTED | typeof FOLLOWING;

export interface Edge {
  userId: string;
  createTime: number;
}

export interface EdgeCursor {
  t: number;
  id: string;
}

export interface EdgePage {
  edges: Edge[];
  next: EdgeCursor | null;
}

/** Builds the event of a change, given the followee's follower count after it. */
export type EventFor = (followerCount: number) => EncodedEvent;

export interface GraphStore {
  /** The state of the edge follower → followee. */
  edge(followerId: string, followeeId: string): Promise<EdgeState>;
  isPrivate(userId: string): Promise<boolean>;
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
  counts(userId: string): Promise<{ followers: number; following: number }>;
  /** Sets the privacy flag and appends its event; making an account public approves requests. */
  setPrivate(
    userId: string,
    isPrivate: boolean,
    event: EncodedEvent,
    approved: (followerId: string, count: number) => EncodedEvent,
  ): Promise<void>;
}
