// The two listeners of a process:
// - the HTTP port: connect-node serving Connect, gRPC-Web and gRPC, on HTTP/1.1 and cleartext
//   HTTP/2 on the same port (the first bytes of a connection tell which), so that curl works
//   with or without --http2-prior-knowledge;
// - the gRPC port: @grpc/grpc-js, the fast stack for gRPC clients, Envoy and other services.
// Both serve the same wrapped handlers, grpc.health.v1 and gRPC server reflection.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { splitAddr } from "./config.js";
import { checkBinaryRequests } from "./decode.js";
import { addGrpcService } from "./grpc.js";
import type { Logger } from "./log.js";
import type { HttpRoute, ServiceRegistration } from "./service.js";
import { metricsText } from "./telemetry.js";

export interface ServeOptions {
  httpAddr: string;
  grpcAddr: string;
  services: ServiceRegistration[];
  /** Plain HTTP routes of the modules (the HTTP port only), tried before the 404. */
  httpRoutes?: HttpRoute[];
  log: Logger;
}

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  /** host:port of each listener, as a client dials it. */
  httpAddr: string;
  grpcAddr: string;
  /** Stops accepting calls, lets in-flight calls finish for up to graceMs, then closes. */
  close(graceMs: number): Promise<void>;
}

/** The largest request message either port accepts: RESOURCE_EXHAUSTED beyond. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const shutdown = new AbortController();
  const handler = connectNodeAdapter({
    routes: (router) => {
      for (const s of opts.services) router.service(s.desc, s.impl);
      checkBinaryRequests(router.handlers, MAX_MESSAGE_BYTES);
    },
    shutdownSignal: shutdown.signal,
    // A misspelt or forged field is an error, not silently dropped; so are bytes that are not
    // UTF-8 (never stored as U+FFFD).
    // (connect-node hands jsonOptions to createJsonSerialization, whose options take a textDecoder.)
    jsonOptions: { ignoreUnknownFields: false, ...{ textDecoder: new TextDecoder("utf-8", { fatal: true }) } },
    // the largest request message, as grpc-js' default on the gRPC port (the default here is 4 GiB)
    readMaxBytes: MAX_MESSAGE_BYTES,
    fallback: async (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if (req.method === "GET" && (path === "/healthz" || path === "/readyz")) {
        res.writeHead(shutdown.signal.aborted ? 503 : 200, { "content-type": "text/plain" });
        res.end(shutdown.signal.aborted ? "draining\n" : "ok\n");
        return;
      }
      if (req.method === "GET" && path === "/metrics") {
        // Prometheus text of this process's metrics (telemetry.ts); the edge does not route it.
        const text = await metricsText();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(text);
        return;
      }
      try {
        // connect-node's response type differs from node's only in write()'s callback typing.
        for (const route of opts.httpRoutes ?? []) if (await route(req, res as Parameters<HttpRoute>[1])) return;
      } catch (err) {
        opts.log.error({ err, method: req.method, path }, "HTTP route failed");
        if (res.headersSent) res.end();
        else {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ code: "internal", message: "internal error" }));
        }
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", message: `no route for ${req.method} ${path}` }));
    },
  });

  const h1 = http.createServer(handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  // HTTP/1.1 connections with a request in flight; idle ones are closed at once when draining.
  const h1Busy = new Map<net.Socket, number>();
  const h1Sockets = new Set<net.Socket>();
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    h1Busy.set(socket, (h1Busy.get(socket) ?? 0) + 1);
    if (shutdown.signal.aborted) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (h1Busy.get(socket) ?? 1) - 1;
      if (left > 0) h1Busy.set(socket, left);
      else {
        h1Busy.delete(socket);
        if (shutdown.signal.aborted) socket.destroySoon();
      }
    });
  });
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  // noDelay: without it Nagle's algorithm and delayed ACKs hold each HTTP/2 response ~40 ms.
  const listener = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (chunk) => {
      socket.pause();
      if (chunk.subarray(0, 3).toString("latin1") === "PRI") {
        // node:http2 reads a net.Socket natively and would miss the bytes already read; a
        // Duplex that replays them carries the session instead.
        h2.emit("connection", replaying(socket, chunk));
      } else {
        socket.unshift(chunk);
        h1Sockets.add(socket);
        socket.once("close", () => h1Sockets.delete(socket));
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  const { host, port } = splitAddr(opts.httpAddr);
  await listen(listener, host, port, "FEEDMESH_HTTP_ADDR");
  const httpPort = (listener.address() as net.AddressInfo).port;

  const grpcServer = new grpc.Server({ "grpc.keepalive_permit_without_calls": 1, "grpc.max_receive_message_length": MAX_MESSAGE_BYTES });
  for (const s of opts.services) addGrpcService(grpcServer, s, shutdown.signal);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(opts.grpcAddr, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(new Error(`cannot listen on FEEDMESH_GRPC_ADDR=${opts.grpcAddr}: ${err.message}`)) : resolve(p),
    ),
  ).catch((err) => {
    listener.close();
    throw err;
  });
  return {
    httpPort,
    grpcPort,
    httpAddr: `${host}:${httpPort}`,
    grpcAddr: `${splitAddr(opts.grpcAddr).host}:${grpcPort}`,
    async close(graceMs) {
      shutdown.abort();
      listener.close();
      for (const s of sessions) s.close(); // GOAWAY: finish open streams, accept no new ones
      for (const socket of h1Sockets) if (!h1Busy.has(socket)) socket.destroySoon();
      const grpcDone = new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      const httpDone = new Promise<void>((resolve) => {
        const check = () => (sockets.size === 0 ? resolve() : setTimeout(check, 20).unref());
        check();
      });
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.all([grpcDone, httpDone]), expired]);
      clearTimeout(timer);
      grpcServer.forceShutdown();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A Duplex over the socket that first yields the bytes already read from it. */
function replaying(socket: net.Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => socket.resume(),
    write: (chunk, encoding, cb) => socket.write(chunk, encoding, cb),
    final: (cb) => socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  duplex.push(first);
  socket.on("data", (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("error", (err) => duplex.destroy(err));
  socket.on("close", () => duplex.destroy());
  return duplex;
}

function listen(server: net.Server, host: string, port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the port is taken by another process" : err.message;
      reject(new Error(`cannot listen on ${variable}=${host}:${port}: ${why}`));
    });
    server.listen(port, host, () => resolve());
  });
}
