// A Connect Transport on @grpc/grpc-js: service-to-service calls keep Connect's promise clients
// (protobuf-es types) but travel on the grpc-js client, which measured faster than connect-node's
// gRPC client on our machines (make bench-rpc). Unary and server-streaming calls.
import { create, type DescMessage, type DescMethod, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { StatusSchema } from "../../gen/ts/google/rpc/status_pb.js";

/** The transport, and close() to end its channel (a tool that exits when done must close it). */
export function createGrpcJsTransport(address: string, options: grpc.ClientOptions = {}): Transport & { close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 30_000,
    ...options,
  });
  const path = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;
  const serialize = (schema: DescMessage) => (msg: unknown) => Buffer.from(toBinary(schema, create(schema, msg as never)));
  const deserialize = (schema: DescMessage) => (buf: Buffer) => fromBinary(schema, buf);

  function callOptions(timeoutMs: number | undefined): grpc.CallOptions {
    return timeoutMs !== undefined && timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
  }

  return {
    async unary(method, signal, timeoutMs, header, input) {
      const responseHeader = new Headers();
      const trailer = new Headers();
      const message = await new Promise<MessageShape<typeof method.output>>((resolve, reject) => {
        const call = client.makeUnaryRequest(
          path(method),
          serialize(method.input),
          deserialize(method.output),
          input,
          toMetadata(header),
          callOptions(timeoutMs),
          (err, res) => (err ? reject(toConnectError(err)) : resolve(res as MessageShape<typeof method.output>)),
        );
        call.on("metadata", (md) => copyInto(md, responseHeader));
        call.on("status", (s) => copyInto(s.metadata, trailer));
        signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
      return { stream: false, service: method.parent, method, header: responseHeader, message, trailer } as UnaryResponse<
        typeof method.input,
        typeof method.output
      >;
    },

    async stream(method, signal, timeoutMs, header, input) {
      if (method.methodKind !== "server_streaming") {
        throw new ConnectError(`${method.methodKind} calls are not supported by this transport`, Code.Unimplemented);
      }
      let request: unknown;
      for await (const m of input) request = m;
      const call = client.makeServerStreamRequest(
        path(method),
        serialize(method.input),
        deserialize(method.output),
        request,
        toMetadata(header),
        callOptions(timeoutMs),
      );
      signal?.addEventListener("abort", () => call.cancel(), { once: true });
      const responseHeader = new Headers();
      const trailer = new Headers();
      call.on("metadata", (md) => copyInto(md, responseHeader));
      async function* messages() {
        try {
          for await (const m of call) yield m as MessageShape<typeof method.output>;
        } catch (err) {
          throw toConnectError(err as grpc.ServiceError);
        }
      }
      return { stream: true, service: method.parent, method, header: responseHeader, message: messages(), trailer } as StreamResponse<
        typeof method.input,
        typeof method.output
      >;
    },
    close: () => client.close(),
  };
}

function toMetadata(header: ConstructorParameters<typeof Headers>[0]): grpc.Metadata {
  const md = new grpc.Metadata();
  new Headers(header).forEach((v, k) => {
    md.set(k, v);
  });
  return md;
}

function copyInto(md: grpc.Metadata, headers: Headers): void {
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === "string") headers.set(k, v);
}

/** A grpc-js error as a ConnectError, with the details of grpc-status-details-bin. */
export function toConnectError(err: grpc.ServiceError): ConnectError {
  const error = new ConnectError(err.details ?? err.message, (err.code as number as Code) || Code.Unknown);
  const bin = err.metadata?.get("grpc-status-details-bin")[0];
  if (bin instanceof Buffer) {
    try {
      for (const any of fromBinary(StatusSchema, bin).details) {
        error.details.push({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1), value: any.value });
      }
    } catch {
      // undecodable details: keep the code and the message
    }
  }
  return error;
}
