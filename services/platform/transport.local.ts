// The in-process Transport of the embedded and combined modes: a unary call runs the target's
// wrapped handler directly (the same interceptors: tracing, authentication, deadline, error
// mapping; validation only between processes, see middleware.ts) with no serialization and no
// emulated HTTP exchange. Messages pass by reference:
// handlers never mutate their request, and a response, once returned, belongs to the caller.
// Streaming calls go through Connect's router transport, which serializes them.
import { create, type DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  createRouterTransport,
  type HandlerContext,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { inProcessKey } from "./middleware.js";
import type { ServiceRegistration } from "./service.js";

type UnaryHandler = (req: unknown, ctx: HandlerContext) => Promise<unknown>;

/** Why a finished call's context is aborted (work it started in the background may listen). */
const DONE = new ConnectError("the call has finished", Code.Canceled);

export function createLocalTransport(services: ServiceRegistration[]): Transport {
  const handlers = new Map<DescMethod, UnaryHandler>();
  for (const s of services) {
    const impl = s.impl as unknown as Record<string, UnaryHandler>;
    for (const m of s.desc.methods) if (m.methodKind === "unary" && impl[m.localName]) handlers.set(m, impl[m.localName]!);
  }
  const router = createRouterTransport((r) => {
    for (const s of services) r.service(s.desc, s.impl);
  });

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const handler = handlers.get(method);
      if (!handler) throw new ConnectError(`${method.parent.typeName}/${method.name} is not served in this process`, Code.Unimplemented);
      if (signal?.aborted) throw new ConnectError("the call was canceled by its caller", Code.Canceled);
      const ctx = createHandlerContext({
        service: method.parent,
        method,
        protocolName: "in-process",
        requestMethod: "POST",
        url: `/${method.parent.typeName}/${method.name}`,
        ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
        ...(signal ? { requestSignal: signal } : {}),
        requestHeader: header ?? {},
        contextValues: (contextValues ?? createContextValues()).set(inProcessKey, true),
      });
      // A caller that cancels gets CANCELED at once, as over a network; the handler sees its
      // context's signal abort.
      let onAbort: (() => void) | undefined;
      const canceled = new Promise<never>((_, reject) => {
        onAbort = () => reject(new ConnectError("the call was canceled by its caller", Code.Canceled));
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      try {
        const answer = await Promise.race([handler(create(method.input, input), ctx), canceled]);
        const message = create(method.output, answer as never);
        return {
          stream: false,
          service: method.parent,
          method,
          header: ctx.responseHeader,
          message,
          trailer: ctx.responseTrailer,
        } as UnaryResponse<typeof method.input, typeof method.output>;
      } finally {
        if (onAbort) signal?.removeEventListener("abort", onAbort);
        ctx.abort(DONE); // releases the deadline timer (a reason given: no DOMException with a stack per call)
      }
    },
    stream: (...args) => router.stream(...args),
  };
}
