// Clients of the other services, generated from the contracts. In the embedded mode they call
// the in-process handlers (through the same interceptors); in the microservices mode they call
// the service's gRPC port. Every call carries a credential: the user's own token when a service
// acts for a user, or a short-lived service token when it acts on its own; and the W3C trace
// context of a client span, so that the callee's spans join the caller's trace.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, Code, ConnectError, createClient, type HandlerContext, type Transport } from "@connectrpc/connect";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
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
        if (!cache.has(name)) cache.set(name, createClient(SERVICES[name], traced(transportFor(name, SERVICES[name]))));
        return cache.get(name);
      },
    });
  }
  return clients;
}

const tracer = trace.getTracer("feedmesh");
const headerSetter = { set: (h: Headers, k: string, v: string) => h.set(k, v) };

/**
 * A client span around every call to another service, and the W3C trace context in its headers,
 * whatever the transport (grpc-js, in-process, Connect): the callee's server span continues it.
 * A stream's span covers its setup.
 */
function traced(transport: Transport): Transport {
  const around = async <R>(
    method: DescMethod,
    header: ConstructorParameters<typeof Headers>[0],
    call: (h: Headers) => Promise<R>,
  ): Promise<R> =>
    tracer.startActiveSpan(
      `${method.parent.typeName}/${method.name}`,
      { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name } },
      async (span) => {
        const h = new Headers(header);
        propagation.inject(context.active(), h, headerSetter);
        try {
          return await call(h);
        } catch (err) {
          const code = ConnectError.from(err).code;
          span.setAttribute("rpc.grpc.status_code", code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      around(method, header, (h) => transport.unary(method, signal, timeoutMs, h, input, contextValues)),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      around(method, header, (h) => transport.stream(method, signal, timeoutMs, h, input, contextValues)),
  };
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
