// One echo server of the RPC benchmark, in its own process (started by run.ts):
//   grpc-js-plain a bare @grpc/grpc-js server, a hand-written handler with protobuf-es'
//                 fromBinary/toBinary as its codec (the adapter's codec calls): the floor
//   grpc-js       our adapter (addGrpcService) on @grpc/grpc-js
//   stack         the same with every interceptor (wrapService, built in stack.ts) as the services
//                 run them; the verifier's JWKS comes in BENCH_RPC_JWKS (run.ts mints it)
//   connect-node  a plain http2.createServer(connectNodeAdapter({ routes })) (h2c), and the same
//                 adapter on http.createServer on a second port for HTTP/1.1 (Connect JSON)
//   serve         our serve(): the grpc-js port and the HTTP port (HTTP/1.1 and h2c sniffed)
// Prints one JSON line with its ports ({"ready":true,"grpc":…,"http":…,"h1":…}) and runs until SIGTERM
// or until its stdin closes (the parent went away).
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Server } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { addGrpcService } from "../../services/platform/grpc.js";
import { createLogger } from "../../services/platform/log.js";
import { serve } from "../../services/platform/server.js";
import { registration } from "../../services/platform/service.js";
import { type EchoRequest, EchoRequestSchema, type EchoResponse, EchoResponseSchema, EchoService } from "./gen/echo_pb.js";

export type ServerKind = "grpc-js-plain" | "grpc-js" | "stack" | "connect-node" | "serve";

const impl: ServiceImpl<typeof EchoService> = { echo: (req) => ({ message: req.message }) };

export interface Ports {
  grpc?: number;
  /** HTTP/1.1 and h2c (serve) or h2c only (connect-node). */
  http?: number;
  /** HTTP/1.1 only. */
  h1?: number;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Echo on a bare grpc-js server: no HandlerContext, no promise, no interceptor. */
function addPlainEcho(server: grpc.Server): void {
  const echo: grpc.MethodDefinition<EchoRequest, EchoResponse> = {
    path: `/${EchoService.typeName}/${EchoService.method.echo.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => Buffer.from(toBinary(EchoRequestSchema, m)),
    requestDeserialize: (b) => fromBinary(EchoRequestSchema, b),
    responseSerialize: (m) => Buffer.from(toBinary(EchoResponseSchema, m)),
    responseDeserialize: (b) => fromBinary(EchoResponseSchema, b),
  };
  const handler: grpc.handleUnaryCall<EchoRequest, EchoResponse> = (call, callback) =>
    callback(null, create(EchoResponseSchema, { message: call.request.message }));
  server.addService({ echo }, { echo: handler });
}

async function startGrpcJs(add: (server: grpc.Server) => void): Promise<{ ports: Ports; close: () => Promise<void> }> {
  const server = new grpc.Server();
  add(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { ports: { grpc: port }, close: async () => server.forceShutdown() };
}

async function start(kind: string): Promise<{ ports: Ports; close: () => Promise<void> }> {
  const shutdown = new AbortController();
  switch (kind) {
    case "grpc-js-plain":
      return startGrpcJs(addPlainEcho);
    case "grpc-js":
      return startGrpcJs((server) => addGrpcService(server, registration(EchoService, impl), shutdown.signal));
    case "stack": {
      if (!process.env.BENCH_RPC_JWKS) throw new Error("stack: BENCH_RPC_JWKS (the verifier's JWKS, JSON) is not set");
      const { withInterceptors } = await import("./stack.js"); // loads OpenTelemetry's SDK only here
      const wrapped = withInterceptors(registration(EchoService, impl), JSON.parse(process.env.BENCH_RPC_JWKS));
      return startGrpcJs((server) => addGrpcService(server, wrapped, shutdown.signal));
    }
    case "connect-node": {
      const handler = connectNodeAdapter({ routes: (router) => router.service(EchoService, impl) });
      const h2c = http2.createServer(handler);
      const h1 = http.createServer(handler);
      const ports = { http: await listen(h2c), h1: await listen(h1) };
      const close = async () => {
        h2c.close();
        h1.close();
      };
      return { ports, close };
    }
    case "serve": {
      const log = createLogger("warn", { bench: "rpc" });
      const s = await serve({ httpAddr: "127.0.0.1:0", grpcAddr: "127.0.0.1:0", services: [registration(EchoService, impl)], log });
      return { ports: { grpc: s.grpcPort, http: s.httpPort, h1: s.httpPort }, close: () => s.close(0) };
    }
    default:
      throw new Error(`unknown server kind ${JSON.stringify(kind)}: grpc-js-plain, grpc-js, stack, connect-node or serve`);
  }
}

const server = await start(process.argv[2] ?? "");
process.stdout.write(`${JSON.stringify({ ready: true, ...server.ports })}\n`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.on("end", stop).on("close", stop).resume();
