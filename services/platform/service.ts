// What a service module gives the platform: the Protobuf services it implements (handlers
// written once against protobuf-es types, served by every stack) and the workers it runs.
import type http from "node:http";
import type http2 from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

export interface ServiceRegistration<S extends DescService = DescService> {
  desc: S;
  impl: ServiceImpl<S>;
}

export function registration<S extends DescService>(desc: S, impl: ServiceImpl<S>): ServiceRegistration {
  return { desc, impl } as unknown as ServiceRegistration;
}

/**
 * A plain HTTP route of the HTTP port, beside the RPCs (e.g. the embedded blob store's pre-signed
 * URLs): answers and returns true for its own paths, returns false (touching nothing) for others.
 */
export type HttpRoute = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => Promise<boolean>;

export interface ServiceModule {
  /** The target name: identity, graph, post, ... */
  name: string;
  services: ServiceRegistration[];
  /** Whether the module's store writes events (its outbox is then relayed to Kafka). */
  publishes?: boolean;
  /** Plain HTTP routes served on the HTTP port, tried in order before the 404. */
  httpRoutes?: HttpRoute[];
  /** Starts background work (event consumers); called once the servers listen. */
  start?(): Promise<void> | void;
  /** Stops background work; in-flight work finishes or is left for redelivery. */
  stop?(): Promise<void> | void;
}
