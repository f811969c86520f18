// Undecodable binary requests are INVALID_ARGUMENT on the HTTP port, as on the gRPC port.
// connect-node answers a binary request body that is not a valid message (bad UTF-8 in a string,
// an illegal tag, a length past the end) with INTERNAL ("parse binary: ..."), over Connect,
// gRPC-Web and gRPC alike, while grpc-js answers INVALID_ARGUMENT. The client sent bad bytes: it
// is their error, and INTERNAL would page an SRE. This wraps each handler of the router: for a
// method with one request message (unary, server-streaming) sent in binary and uncompressed, the
// body is read (up to the size limit), decoded once to check it, and handed on unchanged; bytes
// that do not decode become a body that throws INVALID_ARGUMENT when read, which the protocol
// layer answers in its own format. Compressed bodies and client streams pass unchecked.
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

const BINARY = /^application\/(proto|x-protobuf|grpc(-web)?(\+proto)?|connect\+proto)(;|$)/i;
const ENVELOPED = /^application\/(grpc|connect\+)/i;

/** Reads a body of at most `max` bytes; undefined when it is longer (the caller passes it on unchecked). */
async function readUpTo(body: AsyncIterable<Uint8Array>, max: number): Promise<{ bytes?: Uint8Array; chunks: Uint8Array[] }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    chunks.push(c);
    size += c.byteLength;
    if (size > max) return { chunks };
  }
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), chunks };
}

/** The messages of an enveloped body (gRPC, gRPC-Web, Connect streaming), or null when one is compressed or cut. */
function envelopes(bytes: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; ) {
    if (i + 5 > bytes.byteLength || (bytes[i]! & 0x01) !== 0) return null;
    const n = view.getUint32(i + 1);
    if (i + 5 + n > bytes.byteLength) return null;
    out.push(bytes.subarray(i + 5, i + 5 + n));
    i += 5 + n;
  }
  return out;
}

async function* replay(chunks: Uint8Array[], rest?: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* chunks;
  if (rest) for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

// biome-ignore lint/correctness/useYield: a body that fails when read
async function* failing(err: ConnectError): AsyncIterable<Uint8Array> {
  throw err;
}

function checked(handler: UniversalHandler, maxBytes: number): UniversalHandler {
  const kind = handler.method.methodKind;
  if (kind !== "unary" && kind !== "server_streaming") return handler;
  const input = handler.method.input;
  const wrapped = async (req: UniversalServerRequest) => {
    const type = req.header.get("content-type") ?? "";
    const body = req.body;
    const compressed = (req.header.get("content-encoding") ?? "identity") !== "identity";
    if (!BINARY.test(type) || compressed || typeof body !== "object" || body === null || !(Symbol.asyncIterator in body))
      return handler(req);
    const it = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const { bytes, chunks } = await readUpTo({ [Symbol.asyncIterator]: () => it }, maxBytes + 5);
    if (!bytes) return handler({ ...req, body: replay(chunks, it) }); // too long: connect-node refuses it
    const messages = ENVELOPED.test(type) ? envelopes(bytes) : [bytes];
    try {
      for (const m of messages ?? []) fromBinary(input, m);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return handler({
        ...req,
        body: failing(new ConnectError(`the request is not a valid ${input.typeName} message: ${why}`, Code.InvalidArgument)),
      });
    }
    return handler({ ...req, body: replay([bytes]) });
  };
  return Object.assign(wrapped, handler);
}

/** Wraps the router's handlers in place (call after registering every service). */
export function checkBinaryRequests(handlers: UniversalHandler[], maxBytes: number): void {
  for (let i = 0; i < handlers.length; i++) handlers[i] = checked(handlers[i]!, maxBytes);
}
