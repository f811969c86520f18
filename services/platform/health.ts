// grpc.health.v1: the same check answers Envoy's upstream health checks, Kubernetes' native
// grpc probes and `grpcurl ... grpc.health.v1.Health/Check`. "" is the whole server.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/ts/grpc/health/v1/health_pb.js";

export { Status as ServingStatus };

export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly listeners = new Set<() => void>();

  set(service: string, status: Status): void {
    this.statuses.set(service, status);
    for (const l of this.listeners) l();
  }

  /** Marks every service NOT_SERVING (at shutdown). */
  drain(): void {
    for (const k of this.statuses.keys()) this.set(k, Status.NOT_SERVING);
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  impl(): ServiceImpl<typeof Health> {
    const state = this;
    const response = (status: Status): HealthCheckResponse => create(HealthCheckResponseSchema, { status });
    return {
      check: (req) => {
        const status = this.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return response(status);
      },
      list: () => ({
        statuses: Object.fromEntries([...this.statuses].map(([k, s]) => [k, response(s)])),
      }),
      watch: async function* (req: HealthCheckRequest, ctx: HandlerContext) {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const status = state.get(req.service) ?? Status.SERVICE_UNKNOWN;
          if (status !== last) yield response(status);
          last = status;
          await new Promise<void>((resolve) => {
            const done = () => {
              state.listeners.delete(done);
              ctx.signal.removeEventListener("abort", done);
              resolve();
            };
            state.listeners.add(done);
            ctx.signal.addEventListener("abort", done);
          });
        }
      },
    };
  }
}
