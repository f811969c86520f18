// The load driver of the RPC benchmark, in its own process (started by run.ts): a closed loop
// of `concurrency` echo calls in flight, warm-up then a measured window, every response
// checked against its request. Prints one JSON line: the Stats plus errors and client CPU.
//   load.ts <client> <host:port> <concurrency> <warmupSeconds> <seconds> [--header 'name: value']... [--traceparent]
// client: grpc-js | connect-grpc (gRPC over h2c) | connect-json-h1 (Connect JSON over HTTP/1.1)
// --header: request metadata sent on every call (e.g. 'authorization: Bearer <token>');
// --traceparent: every other call also carries a W3C traceparent of a new trace.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { EchoRequestSchema, EchoResponseSchema, EchoService } from "./gen/echo_pb.js";
import { type Stats, summarize } from "./stats.js";

export type ClientKind = "grpc-js" | "connect-grpc" | "connect-json-h1";

export interface LoadResult extends Stats {
  /** Every call issued, warm-up included. */
  calls: number;
  errors: number;
  firstError?: string;
  /** Client process CPU (user + system) per measured call, in microseconds. */
  clientCpuUsPerCall: number;
}

export interface LoadOptions {
  /** Request metadata of every call, lower-case names. */
  headers?: Record<string, string>;
  /** Whether every other call carries a traceparent (a new trace each time). */
  traceparent?: boolean;
}

type Echo = (message: string, headers: Record<string, string> | undefined) => Promise<string>;

function echoClient(kind: string, target: string): { echo: Echo; close: () => void } {
  switch (kind) {
    case "grpc-js": {
      const client = new grpc.Client(target, grpc.credentials.createInsecure());
      const path = `/${EchoService.typeName}/${EchoService.method.echo.name}`;
      const serialize = (m: { message: string }) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, m)));
      const deserialize = (b: Buffer) => fromBinary(EchoResponseSchema, b);
      const metadata = (headers: Record<string, string>) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(headers)) md.set(k, v);
        return md;
      };
      const echo: Echo = (message, headers) =>
        new Promise((resolve, reject) => {
          const done = (err: grpc.ServiceError | null, res?: { message: string }) => (err ? reject(err) : resolve(res!.message));
          if (headers) client.makeUnaryRequest(path, serialize, deserialize, { message }, metadata(headers), done);
          else client.makeUnaryRequest(path, serialize, deserialize, { message }, done);
        });
      return { echo, close: () => client.close() };
    }
    case "connect-grpc":
    case "connect-json-h1": {
      const baseUrl = `http://${target}`;
      const transport =
        kind === "connect-grpc"
          ? createGrpcTransport({ baseUrl })
          : createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false });
      const client = createClient(EchoService, transport);
      return { echo: async (message, headers) => (await client.echo({ message }, headers ? { headers } : {})).message, close: () => {} };
    }
    default:
      throw new Error(`unknown client kind ${JSON.stringify(kind)}: grpc-js, connect-grpc or connect-json-h1`);
  }
}

/** The metadata of call i: the fixed headers, plus a traceparent on odd calls if asked. */
function callHeaders(opts: LoadOptions, i: number): Record<string, string> | undefined {
  if (!opts.traceparent || i % 2 === 0) return opts.headers;
  return { ...opts.headers, traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` };
}

export async function runLoad(
  kind: string,
  target: string,
  concurrency: number,
  warmupS: number,
  seconds: number,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const client = echoClient(kind, target);
  const latencies: number[] = [];
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const measureFrom = t0 + warmupS * 1000;
  const measureTo = measureFrom + seconds * 1000;
  let cpuFrom: NodeJS.CpuUsage | undefined;
  let lastDone = measureFrom;
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const start = performance.now();
      if (start >= measureTo) return;
      if (start >= measureFrom) cpuFrom ??= process.cpuUsage();
      const message = `echo ${w}.${i}`;
      calls++;
      try {
        const got = await client.echo(message, callHeaders(opts, i));
        if (got !== message) throw new Error(`wrong echo: sent ${JSON.stringify(message)}, got ${JSON.stringify(got)}`);
        const done = performance.now();
        if (start >= measureFrom) {
          latencies.push(done - start);
          lastDone = Math.max(lastDone, done);
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const cpu = process.cpuUsage(cpuFrom);
  client.close();
  const stats = summarize(latencies, lastDone - measureFrom);
  return {
    ...stats,
    calls,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    clientCpuUsPerCall: stats.requests > 0 ? (cpu.user + cpu.system) / stats.requests : 0,
  };
}

if (import.meta.filename === process.argv[1]) {
  process.stdin.on("close", () => process.exit(1)).resume(); // the parent went away
  const args = process.argv.slice(2);
  const opts: LoadOptions = { traceparent: args.includes("--traceparent") };
  for (let i = args.indexOf("--header"); i >= 0; i = args.indexOf("--header", i + 1)) {
    const [, name, value] = /^([^:\s]+):\s*(.*)$/.exec(args[i + 1] ?? "") ?? [];
    if (!name) throw new Error(`--header takes 'name: value', got ${JSON.stringify(args[i + 1])}`);
    opts.headers = { ...opts.headers, [name.toLowerCase()]: value! };
  }
  const [kind = "", target = "", c = "16", warmup = "1", seconds = "5"] = args.filter(
    (a, i) => !a.startsWith("--") && args[i - 1] !== "--header",
  );
  const result = await runLoad(kind, target, Number(c), Number(warmup), Number(seconds), opts);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
