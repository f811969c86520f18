// A response message that carries its own binary encoding (built from stored bytes, e.g. the home
// feed's page): the grpc-js adapter sends those bytes as they are instead of encoding the message.
// The message itself stays complete (for JSON and for the other stacks).
const ENCODED = Symbol("feedmesh.encoded");

export function withEncoding<T extends object>(message: T, bytes: Uint8Array): T {
  Object.defineProperty(message, ENCODED, { value: bytes, enumerable: false });
  return message;
}

export function encodingOf(message: unknown): Uint8Array | undefined {
  return typeof message === "object" && message !== null ? (message as { [ENCODED]?: Uint8Array })[ENCODED] : undefined;
}
