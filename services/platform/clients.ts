// Clients of the other services, generated from the contracts. In the embedded mode they call
// the in-process handlers (through the same interceptors); in the microservices mode they call
// the service's gRPC port. Every call carries a credential: the user's own token when a service
// acts for a user, or a short-lived service token when it acts on its own.
import type { DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient, type HandlerContext, type Transport } from "@connectrpc/connect";
import { EngagementService } from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { GraphService } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { IdentityService } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { MediaService } from "../../gen/ts/feedmesh/media/v1/media_service_pb.js";
import { NotificationService } from "../../gen/ts/feedmesh/notification/v1/notification_service_pb.js";
import { PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { SearchService } from "../../gen/ts/feedmesh/search/v1/search_service_pb.js";
import { bearerKey, mintServiceToken } from "./auth.js";
import { unauthenticated } from "./errors.js";
import { deadlineKey } from "./middleware.js";

export const SERVICES = {
  identity: IdentityService,
  graph: GraphService,
  post: PostService,
  media: MediaService,
  feed: FeedService,
  engagement: EngagementService,
  notification: NotificationService,
  search: SearchService,
} as const;
export type ServiceName = keyof typeof SERVICES;
export type Clients = { [K in ServiceName]: Client<(typeof SERVICES)[K]> };

/** Builds the clients; transportFor picks in-process or remote per service, on first use. */
export function createClients(transportFor: (service: ServiceName, desc: DescService) => Transport): Clients {
  const cache = new Map<ServiceName, unknown>();
  const clients = {} as Clients;
  for (const name of Object.keys(SERVICES) as ServiceName[]) {
    Object.defineProperty(clients, name, {
      enumerable: true,
      get() {
        if (!cache.has(name)) cache.set(name, createClient(SERVICES[name], transportFor(name, SERVICES[name])));
        return cache.get(name);
      },
    });
  }
  return clients;
}

/** Credentials and deadlines for calls to other services. */
export class CallAuth {
  private token: { value: string; renewAt: number } | undefined;

  constructor(
    private readonly issuer: string,
    private readonly key: Buffer,
    private readonly service: string,
  ) {}

  /** Calls on behalf of the user of the current call, within what is left of its deadline. */
  asUser(ctx: HandlerContext): CallOptions {
    const bearer = ctx.values.get(bearerKey);
    if (!bearer) throw unauthenticated("this call has no user credential to forward");
    const deadline = ctx.values.get(deadlineKey);
    return {
      headers: { authorization: `Bearer ${bearer}` },
      ...(deadline ? { timeoutMs: Math.max(1, deadline - Date.now()) } : {}),
      signal: ctx.signal,
    };
  }

  /** Calls as this service itself (workers, internal lookups). */
  async asService(timeoutMs = 10_000): Promise<CallOptions> {
    if (!this.token || Date.now() > this.token.renewAt) {
      this.token = { value: await mintServiceToken(this.issuer, this.key, this.service), renewAt: Date.now() + 240_000 };
    }
    return { headers: { authorization: `Bearer ${this.token.value}` }, timeoutMs };
  }
}
