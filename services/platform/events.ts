// The event topics, their Protobuf envelopes (feedmesh.events.v1) and the bus port. Payloads are
// Protobuf binary; the W3C trace context travels in the headers; delivery is at least once.
import { create, type DescMessage, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { context, propagation } from "@opentelemetry/api";
import {
  EngagementEventSchema,
  FollowEventSchema,
  MediaEventSchema,
  PostEventSchema,
  UserEventSchema,
} from "../../gen/ts/feedmesh/events/v1/events_pb.js";
import { ids } from "./ids.js";

export const TOPICS = {
  posts: PostEventSchema,
  follows: FollowEventSchema,
  engagement: EngagementEventSchema,
  media: MediaEventSchema,
  users: UserEventSchema,
} as const;
export type Topic = keyof typeof TOPICS;
export type TopicEvent<T extends Topic> = MessageShape<(typeof TOPICS)[T]>;

export interface EncodedEvent {
  topic: Topic;
  key: string;
  payload: Uint8Array;
  headers: Record<string, string>;
}

/** Builds and encodes an event with a fresh event id, the current time and the trace context. */
export function encodeEvent<T extends Topic>(
  topic: T,
  key: string,
  init: Omit<MessageInitShape<(typeof TOPICS)[T]>, "eventId" | "occurTime">,
): EncodedEvent {
  const schema: DescMessage = TOPICS[topic];
  const msg = create(schema, { ...(init as object), eventId: ids.next(), occurTime: timestampNow() } as never);
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return { topic, key, payload: toBinary(schema, msg), headers };
}

export function decodeEvent<T extends Topic>(topic: T, payload: Uint8Array): TopicEvent<T> {
  return fromBinary(TOPICS[topic] as DescMessage, payload) as TopicEvent<T>;
}

export interface Delivery<T extends Topic> {
  topic: T;
  key: string;
  event: TopicEvent<T>;
  headers: Record<string, string>;
}

export type EventHandler<T extends Topic> = (delivery: Delivery<T>) => Promise<void>;

/**
 * The consuming side of the bus. Each group sees every event of a topic at least once, in order
 * per key; a handler that throws gets the event again later. The publishing side is an outbox
 * written by the stores in the same transaction as the change (see EmbeddedDb.appendEvent).
 */
export interface EventBus {
  subscribe<T extends Topic>(group: string, topic: T, handler: EventHandler<T>): void;
  start(): Promise<void> | void;
  stop(): Promise<void>;
}
