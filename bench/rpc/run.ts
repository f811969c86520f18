// make bench-rpc: echo throughput and latency of both Node RPC server stacks and both client
// stacks, side by side in one run. Each server and each load driver runs in its own process
// (one server at a time: the box has 2 cores). Writes bench/results/rpc.json.
//   node --import tsx bench/rpc/run.ts [--smoke]
// env: BENCH_SECONDS (5; smoke 0.5), BENCH_WARMUP (1 per case; smoke 0), BENCH_CONCURRENCY (16),
//      BENCH_SERVER_WARMUP (3; smoke 0): an unmeasured load on each new server first, since V8 takes
//      a few seconds under load to optimize it (without it the first case of a server is 20-40% slower)
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { runGhzJson } from "./ghz.js";
import type { ClientKind, LoadResult } from "./load.js";
import type { Ports, ServerKind } from "./server.js";

const root = path.resolve(import.meta.dirname, "../..");
const smoke = process.argv.includes("--smoke");
const env = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!(v >= 0)) throw new Error(`${name} must be a number >= 0`);
  return v;
};
const seconds = env("BENCH_SECONDS", smoke ? 0.5 : 5);
const warmup = env("BENCH_WARMUP", smoke ? 0 : 1);
const serverWarmup = env("BENCH_SERVER_WARMUP", smoke ? 0 : 3);
const concurrency = Math.max(1, Math.round(env("BENCH_CONCURRENCY", 16)));

interface Case {
  server: ServerKind;
  port: keyof Ports;
  client: ClientKind;
}
const CASES: Case[] = [
  { server: "grpc-js", port: "grpc", client: "grpc-js" },
  { server: "grpc-js", port: "grpc", client: "connect-grpc" },
  { server: "connect-node", port: "http", client: "grpc-js" },
  { server: "connect-node", port: "http", client: "connect-grpc" },
  { server: "connect-node", port: "h1", client: "connect-json-h1" },
  { server: "serve", port: "grpc", client: "grpc-js" },
  { server: "serve", port: "http", client: "connect-grpc" },
  { server: "serve", port: "h1", client: "connect-json-h1" },
];
const SERVER_NAMES = { "grpc-js": "grpc-js", "connect-node": "connect-node", serve: "serve()" };
const CLIENT_NAMES = { "grpc-js": "grpc-js", "connect-grpc": "connect-node", "connect-json-h1": "connect-node Connect JSON h1.1" };
const serverName = (c: Case) => (c.server === "serve" ? `serve() ${c.port === "grpc" ? "gRPC" : "HTTP"} port` : SERVER_NAMES[c.server]);
const ms = (v: number | null) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(2) : "-");

// Every child process, killed on any way out.
const children = new Set<ChildProcess>();
const killAll = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));

function spawnTs(file: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, file), ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** The first JSON line with `key` that the child prints; other lines pass through to stderr. */
function jsonLine<T>(child: ChildProcess, key: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs / 1000} s`)), timeoutMs);
    const exited = (code: number | null) => reject(new Error(`${what}: exited (${code}) without a result`));
    child.once("exit", exited);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const parsed = line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      if (parsed && key in parsed) {
        clearTimeout(timer);
        child.off("exit", exited);
        resolve(parsed as T);
      } else process.stderr.write(`${line}\n`);
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** User + system CPU of a process so far, in microseconds (Linux /proc; 0 elsewhere). */
function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ = 100
  } catch {
    return 0;
  }
}

interface Row extends Case, LoadResult {
  serverCpuUsPerCall: number;
}
interface Ghz {
  server: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function findGhz(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter);
  dirs.push(process.env.GOBIN ?? "", path.join(process.env.GOPATH ?? path.join(os.homedir(), "go"), "bin"));
  return dirs.map((d) => path.join(d, "ghz")).find((f) => f !== "ghz" && existsSync(f));
}

function runGhz(ghz: string, protoset: string, port: number, server: string): Ghz {
  const call = ["--protoset", protoset, "--call", "feedmesh.bench.v1.EchoService/Echo", "-d", '{"message":"hi"}'];
  const load = ["-c", String(concurrency), "-z", `${Math.max(1, Math.round(seconds))}s`, `127.0.0.1:${port}`];
  return { server, ...runGhzJson(ghz, [...call, ...load]) };
}

const rows: Row[] = [];
const ghzRows: Ghz[] = [];
const failures: string[] = [];
const ghz = smoke ? undefined : findGhz();
try {
  let protoset: string | undefined;
  if (ghz) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-rpc-"));
    process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
    protoset = path.join(tmp, "echo.binpb");
    execFileSync(path.join(root, "node_modules/.bin/buf"), ["build", "bench/rpc", "-o", protoset], { cwd: root, stdio: "inherit" });
  }
  const kinds = [...new Set(CASES.map((c) => c.server))];
  for (const kind of kinds) {
    const server = spawnTs("server.ts", [kind]);
    const ports = await jsonLine<Ports>(server, "ready", 60_000, `server ${kind}`);
    const first = CASES.find((c) => c.server === kind)!;
    if (serverWarmup > 0) {
      process.stderr.write(`bench-rpc: warming up server=${kind} for ${serverWarmup} s\n`);
      const load = spawnTs("load.ts", [first.client, `127.0.0.1:${ports[first.port]}`, String(concurrency), "0", String(serverWarmup)]);
      await jsonLine<LoadResult>(load, "rps", (serverWarmup + 60) * 1000, `warm-up load ${first.client}`);
      await stop(load);
    }
    for (const c of CASES.filter((c) => c.server === kind)) {
      const n = CASES.indexOf(c) + 1;
      process.stderr.write(
        `bench-rpc: case ${n}/${CASES.length} server=${serverName(c)} client=${CLIENT_NAMES[c.client]} c=${concurrency} ${warmup}+${seconds} s ... `,
      );
      const cpu0 = cpuMicros(server.pid);
      const load = spawnTs("load.ts", [c.client, `127.0.0.1:${ports[c.port]}`, String(concurrency), String(warmup), String(seconds)]);
      const r = await jsonLine<LoadResult>(load, "rps", (warmup + seconds + 60) * 1000, `load ${c.client}`);
      await stop(load);
      const row = { ...c, ...r, serverCpuUsPerCall: r.calls > 0 ? (cpuMicros(server.pid) - cpu0) / r.calls : 0 };
      rows.push(row);
      process.stderr.write(`${Math.round(r.rps)} req/s, p99 ${ms(r.p99)} ms${r.errors ? `, ${r.errors} ERRORS` : ""}\n`);
      if (r.errors > 0 || r.requests === 0)
        failures.push(`case ${n}: ${r.errors} failed calls of ${r.calls}: ${r.firstError ?? "no calls"}`);
    }
    if (ghz && protoset && kind !== "serve") {
      process.stderr.write(`bench-rpc: ghz against server=${kind} c=${concurrency} ... `);
      try {
        const g = runGhz(ghz, protoset, ports[kind === "grpc-js" ? "grpc" : "http"]!, kind);
        ghzRows.push(g);
        process.stderr.write(`${Math.round(g.rps)} req/s, p99 ${ms(g.p99)} ms\n`);
      } catch (err) {
        process.stderr.write(`ghz failed (not counted as a benchmark failure): ${err instanceof Error ? err.message : err}\n`);
      }
    }
    await stop(server);
  }
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
} finally {
  killAll();
}

// Report.
const rps = (n: number) => rows[n - 1]?.rps ?? Number.NaN;
const srvCpu = (n: number) => rows[n - 1]?.serverCpuUsPerCall ?? Number.NaN;
const cliCpu = (n: number) => rows[n - 1]?.clientCpuUsPerCall ?? Number.NaN;
const x = (v: number) => `${v.toFixed(1)}x`;
const lines = [
  "| # | server | client | req/s | p50 ms | p90 | p99 | p99.9 | vs 1 | server µs/call | client µs/call |",
  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r, i) =>
      `| ${i + 1} | ${serverName(r)} | ${CLIENT_NAMES[r.client]} | ${Math.round(r.rps)} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ` +
      `${ms(r.p999)} | ${(r.rps / rps(1)).toFixed(2)} | ${Math.round(r.serverCpuUsPerCall)} | ${Math.round(r.clientCpuUsPerCall)} |`,
  ),
];
const ratios = {
  serverSameClientGrpcJs: rps(1) / rps(3),
  serverSameClientConnect: rps(2) / rps(4),
  clientOnGrpcJsServer: rps(1) / rps(2),
  clientOnConnectServer: rps(3) / rps(4),
  // CPU per call, connect-node over grpc-js: the cost of each stack, less sensitive to which side is the bottleneck
  serverCpuSameClientGrpcJs: srvCpu(3) / srvCpu(1),
  serverCpuSameClientConnect: srvCpu(4) / srvCpu(2),
  clientCpuOnGrpcJsServer: cliCpu(2) / cliCpu(1),
  clientCpuOnConnectServer: cliCpu(4) / cliCpu(3),
};
const faster =
  ratios.clientOnGrpcJsServer > 1 && ratios.clientOnConnectServer > 1
    ? "grpc-js"
    : ratios.clientOnGrpcJsServer < 1 && ratios.clientOnConnectServer < 1
      ? "connect-node"
      : "neither consistently";
lines.push(
  "",
  `server: grpc-js / connect-node = ${x(ratios.serverSameClientGrpcJs)} (same client: grpc-js), ${x(ratios.serverSameClientConnect)} (same client: connect-node)`,
  `client: grpc-js / connect-node = ${x(ratios.clientOnGrpcJsServer)} (same server: grpc-js), ${x(ratios.clientOnConnectServer)} (same server: connect-node)`,
  `CPU per call: connect-node / grpc-js = server ${x(ratios.serverCpuSameClientGrpcJs)}, ${x(ratios.serverCpuSameClientConnect)} (same client); ` +
    `client ${x(ratios.clientCpuOnGrpcJsServer)}, ${x(ratios.clientCpuOnConnectServer)} (same server)`,
  `faster client stack: ${faster}`,
);
if (ghzRows.length > 0) {
  for (const g of ghzRows)
    lines.push(
      `ghz -c ${concurrency} → ${g.server}: ${Math.round(g.rps)} req/s, p50 ${ms(g.p50)} ms, p99 ${ms(g.p99)} ms${g.errors ? `, ${g.errors} errors` : ""}`,
    );
} else if (smoke) {
  lines.push("ghz: skipped in smoke mode");
} else {
  lines.push("ghz: skipped (not found on PATH or in $GOPATH/bin); install: go install github.com/bojand/ghz/cmd/ghz@v0.93.0");
}
process.stdout.write(`\n${lines.join("\n")}\n`);

if (!smoke && rows.length > 0) {
  const out = path.join(root, "bench/results/rpc.json");
  mkdirSync(path.dirname(out), { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    concurrency,
    warmup,
    serverWarmup,
    seconds,
  };
  writeFileSync(
    out,
    `${JSON.stringify({ ...meta, cases: rows, ratios, fasterClient: faster, ghz: ghz ? ghzRows : "skipped", failures }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${path.relative(root, out)}\n`);
}
if (failures.length > 0) {
  process.stderr.write(`bench-rpc: FAILED\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
  process.exit(1);
}
