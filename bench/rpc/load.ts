// The load driver of the RPC benchmark, in its own process (started by run.ts): a closed loop
// of `concurrency` echo calls in flight, warm-up then a measured window, every response
// checked against its request. Prints one JSON line: the Stats plus errors and client CPU.
//   load.ts <client> <host:port> <concurrency> <warmupSeconds> <seconds>
// client: grpc-js | connect-grpc (gRPC over h2c) | connect-json-h1 (Connect JSON over HTTP/1.1)
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

type Echo = (message: string) => Promise<string>;

function echoClient(kind: string, target: string): { echo: Echo; close: () => void } {
  switch (kind) {
    case "grpc-js": {
      const client = new grpc.Client(target, grpc.credentials.createInsecure());
      const path = `/${EchoService.typeName}/${EchoService.method.echo.name}`;
      const serialize = (m: { message: string }) => Buffer.from(toBinary(EchoRequestSchema, create(EchoRequestSchema, m)));
      const deserialize = (b: Buffer) => fromBinary(EchoResponseSchema, b);
      const echo: Echo = (message) =>
        new Promise((resolve, reject) =>
          client.makeUnaryRequest(path, serialize, deserialize, { message }, (err, res) => (err ? reject(err) : resolve(res!.message))),
        );
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
      return { echo: async (message) => (await client.echo({ message })).message, close: () => {} };
    }
    default:
      throw new Error(`unknown client kind ${JSON.stringify(kind)}: grpc-js, connect-grpc or connect-json-h1`);
  }
}

export async function runLoad(kind: string, target: string, concurrency: number, warmupS: number, seconds: number): Promise<LoadResult> {
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
        const got = await client.echo(message);
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
  const [kind = "", target = "", c = "16", warmup = "1", seconds = "5"] = process.argv.slice(2);
  const result = await runLoad(kind, target, Number(c), Number(warmup), Number(seconds));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
