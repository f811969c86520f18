// Errors raised at the handler boundary: Connect/gRPC codes with google.rpc.BadRequest field
// details for bad input. Everything else a handler throws is mapped by toConnectError.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

export { Code, ConnectError };

export interface FieldViolation {
  /** The field's path in the request, with proto names: "caption", "media_ids[2]". */
  field: string;
  description: string;
}

/**
 * How many violations an error carries. The details travel in a response header (gRPC trailers):
 * thousands of them (a 10,000-item list, each item wrong) would exceed the HTTP/2 header limit
 * and turn a bad request into a protocol error.
 */
const MAX_VIOLATIONS = 20;

export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const shown = violations.slice(0, MAX_VIOLATIONS);
  const more = violations.length - shown.length;
  const message = shown.map((v) => `${v.field}: ${v.description}`).join("; ") + (more > 0 ? `; and ${more} more` : "");
  return new ConnectError(message, Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: { fieldViolations: shown } }]);
}

export function invalidField(field: string, description: string): ConnectError {
  return invalidArgument([{ field, description }]);
}

export function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound);
}

export function alreadyExists(what: string): ConnectError {
  return new ConnectError(`${what} already exists`, Code.AlreadyExists);
}

export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

export function permissionDenied(message: string): ConnectError {
  return new ConnectError(message, Code.PermissionDenied);
}

export function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}

export function unavailable(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
}

/**
 * Maps anything thrown by a handler to a ConnectError. ConnectErrors pass through; errors of a
 * dependency (a store, a broker) that say they are transient become UNAVAILABLE; the rest become
 * INTERNAL with a generic message (the cause is logged, never sent to the client).
 */
export function toConnectError(err: unknown): { error: ConnectError; unexpected: boolean } {
  if (err instanceof ConnectError) {
    // An error from a downstream call carries that call's protocol headers: never forward them.
    for (const k of [...err.metadata.keys()]) if (RESERVED.test(k)) err.metadata.delete(k);
    return { error: err, unexpected: false };
  }
  if (isTransient(err)) return { error: unavailable("a dependency is unavailable, retry later", err), unexpected: true };
  return { error: new ConnectError("internal error", Code.Internal, undefined, undefined, err), unexpected: true };
}

const RESERVED = /^(:|grpc-|content-|connect-|te$|user-agent$|date$|vary$|accept|host$|transfer-encoding$|server$)/;

/** Marks an error of an adapter as transient (the dependency is down or overloaded). */
export class DependencyUnavailableError extends Error {
  override name = "DependencyUnavailableError";
}

function isTransient(err: unknown): boolean {
  if (err instanceof DependencyUnavailableError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ERR_SQLITE_BUSY"].includes(code);
}
