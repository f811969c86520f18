// The interceptors every call goes through, written once and applied to every service on both
// stacks (connect-node and grpc-js): tracing (W3C trace context), logging, authentication,
// validation of the request against the contract's rules, deadlines, and error mapping.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { Validator } from "@bufbuild/protovalidate";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { bearerKey, PUBLIC_METHODS, principalKey, type TokenVerifier } from "./auth.js";
import { Code, ConnectError, invalidArgument, toConnectError, unauthenticated } from "./errors.js";
import type { Logger } from "./log.js";
import { instruments } from "./metrics.js";
import type { ServiceRegistration } from "./service.js";
import { fieldViolations, jsonFieldPath } from "./violations.js";

/** Set by the edge on REST calls it transcodes: their errors name fields with JSON names. */
export const FIELD_NAMES_HEADER = "x-feedmesh-field-names";

export interface MiddlewareDeps {
  log: Logger;
  verifier: TokenVerifier;
  validator: Validator;
  defaultDeadlineMs: number;
  maxDeadlineMs: number;
}

/**
 * Set on calls from another module of the same process (transport.local.ts). Their requests are
 * built by our own code from validated input or stored data, so the contract's rules are not
 * checked again (a sixteenth of a feed read's CPU); the same calls between processes are.
 */
export const inProcessKey = createContextKey<boolean>(false, { description: "an in-process call" });

/** The absolute deadline of the current call (ms since epoch), for calls it makes downstream. */
export const deadlineKey = createContextKey<number | undefined>(undefined, { description: "deadline" });

const tracer = trace.getTracer("feedmesh");
const headerGetter = {
  get: (h: Headers, k: string) => h.get(k) ?? undefined,
  keys: (h: Headers) => [...h.keys()],
};

type AnyHandler = (req: unknown, ctx: HandlerContext) => unknown;

/** Wraps every method of a service with the platform's interceptors. */
export function wrapService(reg: ServiceRegistration, deps: MiddlewareDeps): ServiceRegistration {
  const impl: Record<string, AnyHandler> = {};
  const source = reg.impl as unknown as Record<string, AnyHandler>;
  for (const method of reg.desc.methods) {
    const handler = source[method.localName];
    if (!handler) throw new Error(`${reg.desc.typeName} has no handler for ${method.name}`);
    impl[method.localName] =
      method.methodKind === "unary"
        ? wrapUnary(reg.desc, method, handler, deps)
        : method.methodKind === "server_streaming"
          ? wrapServerStream(reg.desc, method, handler, deps)
          : wrapOther(reg.desc, method, handler, deps);
  }
  return { desc: reg.desc, impl } as unknown as ServiceRegistration;
}

function wrapUnary(service: DescService, method: DescMethod, handler: AnyHandler, deps: MiddlewareDeps): AnyHandler {
  const rpc = `${service.typeName}/${method.name}`;
  return (req, ctx) =>
    inSpan(rpc, method, ctx, deps, async () => {
      await authenticate(rpc, ctx, deps.verifier);
      if (!ctx.values.get(inProcessKey)) validate(method, req, deps.validator);
      return withDeadline(ctx, deps, () => handler(req, ctx));
    });
}

function wrapServerStream(service: DescService, method: DescMethod, handler: AnyHandler, deps: MiddlewareDeps): AnyHandler {
  const rpc = `${service.typeName}/${method.name}`;
  return async function* (req, ctx) {
    // inSpan answers its own failures already mapped; the stream's are mapped here
    await inSpan(rpc, method, ctx, deps, async () => {
      await authenticate(rpc, ctx, deps.verifier);
      validate(method, req, deps.validator);
    });
    try {
      yield* handler(req, ctx) as AsyncIterable<unknown>;
    } catch (err) {
      throw mapError(rpc, method, ctx, err, deps.log);
    }
  };
}

function wrapOther(service: DescService, method: DescMethod, handler: AnyHandler, deps: MiddlewareDeps): AnyHandler {
  const rpc = `${service.typeName}/${method.name}`;
  return async function* (reqs, ctx) {
    try {
      await authenticate(rpc, ctx, deps.verifier);
      yield* handler(reqs, ctx) as AsyncIterable<unknown>;
    } catch (err) {
      throw mapError(rpc, method, ctx, err, deps.log);
    }
  };
}

async function inSpan<T>(rpc: string, method: DescMethod, ctx: HandlerContext, deps: MiddlewareDeps, fn: () => Promise<T>): Promise<T> {
  const parent = propagation.extract(context.active(), ctx.requestHeader, headerGetter);
  return tracer.startActiveSpan(
    rpc,
    { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name } },
    parent,
    async (span: Span) => {
      const start = performance.now();
      let status = 0;
      try {
        return await fn();
      } catch (err) {
        const error = mapError(rpc, method, ctx, err, deps.log);
        status = error.code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
        throw error;
      } finally {
        const elapsed = performance.now() - start;
        span.setAttribute("rpc.grpc.status_code", status);
        const code = status === 0 ? "ok" : (Code[status] ?? String(status));
        deps.log[status === 0 ? "debug" : "info"]({ rpc, code, ms: Math.round(elapsed * 10) / 10, protocol: ctx.protocolName }, "rpc");
        span.end();
        instruments().rpcServer.record(elapsed / 1000, {
          "rpc.system": "grpc",
          "rpc.service": method.parent.typeName,
          "rpc.method": method.name,
          "rpc.grpc.status_code": status,
        });
      }
    },
  );
}

/** Metadata of every error answered: the trace id, for a user to quote (x-trace-id). */
export const TRACE_ID_HEADER = "x-trace-id";

function mapError(rpc: string, method: DescMethod, ctx: HandlerContext, err: unknown, log: Logger): ConnectError {
  const { error, unexpected } = toConnectError(err);
  if (unexpected) log.error({ rpc, err }, "unexpected error in handler");
  const answer = spelt(error, method, ctx);
  const span = trace.getActiveSpan();
  if (span) answer.metadata.set(TRACE_ID_HEADER, span.spanContext().traceId);
  return answer;
}

async function authenticate(rpc: string, ctx: HandlerContext, verifier: TokenVerifier): Promise<void> {
  const header = ctx.requestHeader.get("authorization");
  if (!header) {
    if (PUBLIC_METHODS.has(rpc)) return;
    throw unauthenticated("this call needs an access token: send 'authorization: Bearer <token>'");
  }
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match?.[1]) throw unauthenticated("the authorization header must be 'Bearer <token>'");
  if (PUBLIC_METHODS.has(rpc)) return; // a public RPC ignores credentials rather than failing on stale ones
  ctx.values.set(principalKey, await verifier.verify(match[1]));
  ctx.values.set(bearerKey, match[1]);
}

function validate(method: DescMethod, req: unknown, validator: Validator): void {
  const result = validator.validate(method.input, req as never);
  if (result.kind === "valid") return;
  if (result.kind === "invalid") throw invalidArgument(fieldViolations(result.violations));
  throw result.error;
}

/** A bad-argument error naming the request's fields as a JSON client spells them (handlers use proto names). */
function spelt(error: ConnectError, method: DescMethod, ctx: HandlerContext): ConnectError {
  if (error.code !== Code.InvalidArgument || !jsonClient(ctx)) return error;
  const [details] = error.findDetails(BadRequestSchema);
  if (!details) return error;
  return invalidArgument(details.fieldViolations.map((v) => ({ ...v, field: jsonFieldPath(method.input, v.field) })));
}

/**
 * Whether errors name fields as JSON does (camelCase): FIELD_NAMES_HEADER says how the client
 * spelt them ("json" from the edge for a REST call it transcoded with JSON names, "proto" from
 * decode.ts for a JSON body that used proto names), else a JSON content type means JSON names.
 */
function jsonClient(ctx: HandlerContext): boolean {
  const spelling = ctx.requestHeader.get(FIELD_NAMES_HEADER);
  if (spelling === "json" || spelling === "proto") return spelling === "json";
  return (ctx.requestHeader.get("content-type") ?? "").includes("json");
}

async function withDeadline(ctx: HandlerContext, deps: MiddlewareDeps, fn: () => unknown): Promise<unknown> {
  const ms = Math.min(ctx.timeoutMs() ?? deps.defaultDeadlineMs, deps.maxDeadlineMs);
  ctx.values.set(deadlineKey, Date.now() + ms);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(`deadline of ${ms} ms exceeded`, Code.DeadlineExceeded)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), expired]);
  } finally {
    clearTimeout(timer);
  }
}
