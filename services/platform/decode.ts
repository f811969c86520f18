// Requests that do not decode are INVALID_ARGUMENT on the HTTP port, as on the gRPC port, and
// name the field. connect-node answers a binary body that is not a valid message (bad UTF-8 in a
// string, an illegal tag, a length past the end) with INTERNAL ("parse binary: ..."), over
// Connect, gRPC-Web and gRPC alike, while grpc-js answers INVALID_ARGUMENT; and a JSON body it
// refuses (an unknown key, a wrong type, an unknown enum value, a lone surrogate) gets
// INVALID_ARGUMENT with no google.rpc.BadRequest detail. The client sent bad bytes: it is their
// error, INTERNAL would page an SRE, and a client needs to know which field. This wraps each
// handler of the router: for a method with one request message (unary, server-streaming),
// uncompressed, the body is read (up to the size limit), decoded once to check it, and handed on
// unchanged; a body that does not decode becomes one that throws INVALID_ARGUMENT (with the
// field's violation) when read, which the protocol layer answers in its own format. Compressed
// bodies and client streams pass unchecked (connect-node's own errors apply). And the protocol
// errors connect-node answers with an empty body (405 for a method other than POST or GET, 415
// for a content type no protocol has) get a Connect error JSON body saying what to send.
import { type DescField, type DescMessage, type DescOneof, fromBinary, fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { invalidField } from "./errors.js";
import { FIELD_NAMES_HEADER } from "./middleware.js";

const BINARY = /^application\/(proto|x-protobuf|grpc(-web)?(\+proto)?|connect\+proto)(;|$)/i;
const JSON_TYPE = /^application\/(json|grpc(-web)?\+json|connect\+json)(;|$)/i;
const ENVELOPED = /^application\/(grpc|connect\+)/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The field's name as the client spelt it: the proto name if that is the key it sent, else the JSON name. */
const spelt = (json: unknown, f: DescField) => (typeof json === "object" && json !== null && f.name in json ? f.name : f.jsonName);

/** Whether a JSON request spells a field by its proto name where its JSON name differs (`user_id`). */
function protoSpelt(msg: DescMessage, json: unknown, depth = 0): boolean {
  if (typeof json !== "object" || json === null || Array.isArray(json) || depth > 8) return false;
  const obj = json as Record<string, unknown>;
  for (const f of msg.fields) {
    if (f.name !== f.jsonName && f.name in obj) return true;
    const v = obj[f.jsonName];
    if (f.fieldKind === "message" && protoSpelt(f.message, v, depth + 1)) return true;
    if (f.fieldKind === "list" && f.listKind === "message" && Array.isArray(v)) {
      if (v.some((item) => protoSpelt(f.message, item, depth + 1))) return true;
    }
  }
  return false;
}

/** The field a JSON decode error is about, as the client named it, and what is wrong. */
function jsonViolation(input: DescMessage, json: unknown, err: unknown): ConnectError {
  const message = err instanceof Error ? err.message : String(err);
  const unknownKey = /key "(.*)" is unknown$/.exec(message);
  if (unknownKey) return invalidField(unknownKey[1]!, `is not a field of ${input.typeName}`);
  // An unknown enum name: the field of that enum type (protobuf-es names only the enum).
  const badEnum = /^cannot decode enum ([\w.]+) from JSON: (.*)$/.exec(message);
  const ofEnum = badEnum && input.fields.filter((f) => f.enum?.typeName === badEnum[1]);
  if (badEnum && ofEnum?.length === 1) {
    const f = ofEnum[0]!;
    return invalidField(spelt(json, f), `must be one of ${f.enum!.values.map((v) => v.name).join(", ")}, got ${badEnum[2]}`);
  }
  const cause = (err as { cause?: { field?: () => DescField | DescOneof; message?: string } }).cause;
  const field = cause?.field?.();
  if (!field || !cause?.message) return new ConnectError(`the request is not a valid ${input.typeName}: ${message}`, Code.InvalidArgument);
  let name = field.kind === "oneof" ? field.name : spelt(json, field);
  let why = cause.message.replace(/^expected string: invalid UTF8$/, "must be valid UTF-8 text (no lone surrogates)");
  const item = /^list item #(\d+): (.*)$/.exec(why);
  if (item) [name, why] = [`${name}[${Number(item[1]) - 1}]`, item[2]!];
  return invalidField(name, why.replace(/^expected (.*), got (.*)$/, "must be $1, got $2"));
}

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

/**
 * Why these request bytes are not a message of `input` (error), or how a valid JSON one spells
 * its fields (protoNames: some by their proto names, so errors name them that way too).
 */
function undecodable(input: DescMessage, bytes: Uint8Array, json: boolean): { error?: ConnectError; protoNames?: boolean } {
  if (!json) {
    try {
      fromBinary(input, bytes);
      return {};
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { error: new ConnectError(`the request is not a valid ${input.typeName} message: ${why}`, Code.InvalidArgument) };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch (e) {
    const why = e instanceof TypeError ? "the body is not UTF-8 text" : `the body is not JSON (${(e as Error).message})`;
    return { error: new ConnectError(`the request is not a valid ${input.typeName}: ${why}`, Code.InvalidArgument) };
  }
  try {
    fromJson(input, value as never, { ignoreUnknownFields: false });
    return { protoNames: protoSpelt(input, value) };
  } catch (e) {
    return { error: jsonViolation(input, value, e) };
  }
}

/** The request with FIELD_NAMES_HEADER saying "proto": the validator's errors use proto names. */
function spellingProto(req: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(req.header);
  header.set(FIELD_NAMES_HEADER, "proto");
  return { ...req, header };
}

const CONTENT_TYPES =
  "application/json or application/proto (Connect), application/grpc-web+proto or +json (gRPC-Web), application/grpc (gRPC)";

/** A protocol error without a body gets one: what was wrong, as Connect's error JSON. */
function withBody(res: UniversalServerResponse, req: UniversalServerRequest): UniversalServerResponse {
  if (res.body !== undefined || (res.status !== 405 && res.status !== 415)) return res;
  const [code, message] =
    res.status === 405
      ? ["unimplemented", `${req.method} is not allowed here: call with POST (or GET, for Connect calls without side effects)`]
      : ["invalid_argument", `unsupported content-type ${JSON.stringify(req.header.get("content-type") ?? "")}: send ${CONTENT_TYPES}`];
  const header = new Headers(res.header);
  header.set("content-type", "application/json");
  return { ...res, header, body: replay([Buffer.from(JSON.stringify({ code, message }))]) };
}

function checked(handler: UniversalHandler, maxBytes: number): UniversalHandler {
  const kind = handler.method.methodKind;
  const input = handler.method.input;
  const check = kind === "unary" || kind === "server_streaming";
  const wrapped = async (req: UniversalServerRequest) => withBody(await (check ? decoded(req) : handler(req)), req);
  const decoded = async (req: UniversalServerRequest) => {
    const type = req.header.get("content-type") ?? "";
    const body = req.body;
    const json = JSON_TYPE.test(type);
    const compressed = (req.header.get("content-encoding") ?? "identity") !== "identity";
    if (
      req.method !== "POST" ||
      (!json && !BINARY.test(type)) ||
      compressed ||
      typeof body !== "object" ||
      body === null ||
      !(Symbol.asyncIterator in body)
    )
      return handler(req);
    const it = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const { bytes, chunks } = await readUpTo({ [Symbol.asyncIterator]: () => it }, maxBytes + 5);
    if (!bytes) return handler({ ...req, body: replay(chunks, it) }); // too long: connect-node refuses it
    const messages = ENVELOPED.test(type) ? envelopes(bytes) : [bytes];
    let protoNames = false;
    for (const m of messages ?? []) {
      const { error, protoNames: proto } = undecodable(input, m, json);
      if (error) return handler({ ...req, body: failing(error) });
      protoNames ||= proto === true;
    }
    return handler({ ...(protoNames ? spellingProto(req) : req), body: replay([bytes]) });
  };
  return Object.assign(wrapped, handler);
}

/** Wraps the router's handlers in place (call after registering every service). */
export function checkBinaryRequests(handlers: UniversalHandler[], maxBytes: number): void {
  for (let i = 0; i < handlers.length; i++) handlers[i] = checked(handlers[i]!, maxBytes);
}
