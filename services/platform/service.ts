// What a service module gives the platform: the Protobuf services it implements (handlers
// written once against protobuf-es types, served by every stack) and the workers it runs.
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";

export interface ServiceRegistration<S extends DescService = DescService> {
  desc: S;
  impl: ServiceImpl<S>;
}

export function registration<S extends DescService>(desc: S, impl: ServiceImpl<S>): ServiceRegistration {
  return { desc, impl } as unknown as ServiceRegistration;
}

export interface ServiceModule {
  /** The target name: identity, graph, post, ... */
  name: string;
  services: ServiceRegistration[];
  /** Whether the module's store writes events (its outbox is then relayed to Kafka). */
  publishes?: boolean;
  /** Starts background work (event consumers); called once the servers listen. */
  start?(): Promise<void> | void;
  /** Stops background work; in-flight work finishes or is left for redelivery. */
  stop?(): Promise<void> | void;
}

/** A service whose implementation has not been built yet: every RPC says so, honestly. */
export function notYetBuilt<S extends DescService>(desc: S, reason: string): ServiceRegistration {
  const impl: Record<string, () => never> = {};
  for (const m of desc.methods) {
    impl[m.localName] = () => {
      throw new ConnectError(`${desc.typeName}/${m.name} is not implemented yet: ${reason}`, Code.Unimplemented);
    };
  }
  return { desc, impl } as unknown as ServiceRegistration;
}
