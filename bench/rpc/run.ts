// make bench-rpc: echo throughput and latency of both Node RPC server stacks and both client
// stacks, side by side in one run, and the per-call cost budget of our grpc-js adapter and of
// the interceptors (budget.ts). Each server and each load driver runs in its own process (one
// load at a time: the box has 2 cores). Writes bench/results/rpc.json; exits non-zero on a
// failed call or (not in smoke mode) a layer over its budget.
//   node --import tsx bench/rpc/run.ts [--smoke]
// env: BENCH_SECONDS (5; smoke 0.5), BENCH_WARMUP (1 per case; smoke 0), BENCH_CONCURRENCY (16),
//      BENCH_SERVER_WARMUP (20; smoke 0): an unmeasured load on each new server first: on our 2-vCPU
//      box V8's optimization and heap growth take 20-30 s of load (after 3 s of it, the next 5 s
//      still cost 30-70% more server CPU per call than later ones),
//      BENCH_ROUNDS (5; smoke 1): rounds of the three budget cases, taken in turn
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { BUDGET_SERVERS, type BudgetServer, budget, budgetFailures, budgetTable, median } from "./budget.js";
import { mintAccessToken } from "./credentials.js";
import { runGhzJson } from "./ghz.js";
import type { ClientKind, LoadResult } from "./load.js";
import type { Ports, ServerKind } from "./server.js";

/**
 * Server CPU µs per call that each layer may add (grpc-js client, c=16): about 1.5x what seven full
 * runs measured on our 2-vCPU box (medians: adapter 38-68, typically 56; interceptors 61-75, once
 * 120; bench/rpc/README.md). A full run over either exits non-zero, naming it; smoke runs never do.
 */
const BUDGET_US = { adapter: 80, interceptors: 105 };

const root = path.resolve(import.meta.dirname, "../..");
const smoke = process.argv.includes("--smoke");
const env = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!(v >= 0)) throw new Error(`${name} must be a number >= 0`);
  return v;
};
const seconds = env("BENCH_SECONDS", smoke ? 0.5 : 5);
const warmup = env("BENCH_WARMUP", smoke ? 0 : 1);
const serverWarmup = env("BENCH_SERVER_WARMUP", smoke ? 0 : 20);
const concurrency = Math.max(1, Math.round(env("BENCH_CONCURRENCY", 16)));
const rounds = Math.max(1, Math.round(env("BENCH_ROUNDS", smoke ? 1 : 5)));

interface Case {
  server: ServerKind;
  port: keyof Ports;
  client: ClientKind;
}
const CASES: Case[] = [
  { server: "grpc-js-plain", port: "grpc", client: "grpc-js" },
  { server: "grpc-js", port: "grpc", client: "grpc-js" },
  { server: "stack", port: "grpc", client: "grpc-js" },
  { server: "grpc-js", port: "grpc", client: "connect-grpc" },
  { server: "connect-node", port: "http", client: "grpc-js" },
  { server: "connect-node", port: "http", client: "connect-grpc" },
  { server: "connect-node", port: "h1", client: "connect-json-h1" },
  { server: "serve", port: "grpc", client: "grpc-js" },
  { server: "serve", port: "http", client: "connect-grpc" },
  { server: "serve", port: "h1", client: "connect-json-h1" },
];
/** Servers that run side by side (idle but for the case measured), their cases taken in turn. */
const GROUPS: ServerKind[][] = [[...BUDGET_SERVERS], ["connect-node"], ["serve"]];
const isBudget = (c: Case) => c.client === "grpc-js" && (BUDGET_SERVERS as readonly string[]).includes(c.server);
const CLIENT_NAMES = { "grpc-js": "grpc-js", "connect-grpc": "connect-node", "connect-json-h1": "connect-node Connect JSON h1.1" };
const serverName = (c: Case) => (c.server === "serve" ? `serve() ${c.port === "grpc" ? "gRPC" : "HTTP"} port` : c.server);
const ms = (v: number | null) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(2) : "-");

// Every child process, killed on any way out.
const children = new Set<ChildProcess>();
const killAll = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));

// Every call carries the run's access token, and every other one a traceparent (load.ts), on
// every server: the requests are the same in all cases; only the stack server reads them.
const credentials = await mintAccessToken();
const callOptions = ["--header", `authorization: Bearer ${credentials.token}`, "--traceparent"];

function spawnTs(file: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, file), ...args], {
    cwd: root,
    env: { ...process.env, BENCH_RPC_JWKS: JSON.stringify(credentials.jwks) },
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

/** Busy CPU of the whole box so far (all cores), in microseconds (Linux /proc; 0 elsewhere). */
function boxBusyMicros(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) * 10_000;
  } catch {
    return 0;
  }
}

interface Sample extends LoadResult {
  serverCpuUsPerCall: number;
  /** CPU the rest of the box used meanwhile (not this case's server or load process), in cores. */
  otherCores: number;
}
/** A case: its median round (by server CPU per call), and the server CPU per call of each round. */
interface Row extends Case, Sample {
  roundsServerCpuUsPerCall: number[];
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
  dirs.push(path.join(process.env.INFRA_HOME ?? path.join(os.homedir(), ".cache/feedmesh-infra"), "bin")); // scripts/infra/ghz.sh
  return dirs.map((d) => path.join(d, "ghz")).find((f) => f !== "ghz" && existsSync(f));
}

function runGhz(ghz: string, protoset: string, port: number, server: string): Ghz {
  const call = ["--protoset", protoset, "--call", "feedmesh.bench.v1.EchoService/Echo", "-d", '{"message":"hi"}'];
  call.push("--metadata", JSON.stringify({ authorization: `Bearer ${credentials.token}` }));
  const load = ["-c", String(concurrency), "-z", `${Math.max(1, Math.round(seconds))}s`, `127.0.0.1:${port}`];
  return { server, ...runGhzJson(ghz, [...call, ...load]) };
}

const samples = new Map<Case, Sample[]>();
const ghzRows: Ghz[] = [];
const failures: string[] = [];
const ghz = smoke ? undefined : findGhz();

async function measure(c: Case, server: ChildProcess, port: number, round: number): Promise<void> {
  const n = CASES.indexOf(c) + 1;
  const of = isBudget(c) && rounds > 1 ? ` round ${round + 1}/${rounds}` : "";
  process.stderr.write(
    `bench-rpc: case ${n}/${CASES.length}${of} server=${serverName(c)} client=${CLIENT_NAMES[c.client]} c=${concurrency} ${warmup}+${seconds} s ... `,
  );
  const [t0, box0, cpu0] = [performance.now(), boxBusyMicros(), cpuMicros(server.pid)];
  const load = spawnTs("load.ts", [c.client, `127.0.0.1:${port}`, String(concurrency), String(warmup), String(seconds), ...callOptions]);
  const r = await jsonLine<LoadResult>(load, "rps", (warmup + seconds + 60) * 1000, `load ${c.client}`);
  const [serverCpu, loadCpu] = [cpuMicros(server.pid) - cpu0, cpuMicros(load.pid)];
  const otherCores = Math.max(0, boxBusyMicros() - box0 - serverCpu - loadCpu) / ((performance.now() - t0) * 1000);
  await stop(load);
  const sample = { ...r, serverCpuUsPerCall: r.calls > 0 ? serverCpu / r.calls : 0, otherCores };
  samples.set(c, [...(samples.get(c) ?? []), sample]);
  process.stderr.write(
    `${Math.round(r.rps)} req/s, p99 ${ms(r.p99)} ms, server ${Math.round(sample.serverCpuUsPerCall)} µs/call, ` +
      `other work on the box ${otherCores.toFixed(2)} cores${r.errors ? `, ${r.errors} ERRORS` : ""}\n`,
  );
  if (r.errors > 0 || r.requests === 0) failures.push(`case ${n}: ${r.errors} failed calls of ${r.calls}: ${r.firstError ?? "no calls"}`);
}

try {
  let protoset: string | undefined;
  if (ghz) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-rpc-"));
    process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
    protoset = path.join(tmp, "echo.binpb");
    execFileSync(path.join(root, "node_modules/.bin/buf"), ["build", "bench/rpc", "-o", protoset], { cwd: root, stdio: "inherit" });
  }
  for (const group of GROUPS) {
    const servers = new Map<ServerKind, { child: ChildProcess; ports: Ports }>();
    for (const kind of group) {
      const child = spawnTs("server.ts", [kind]);
      servers.set(kind, { child, ports: await jsonLine<Ports>(child, "ready", 60_000, `server ${kind}`) });
    }
    const cases = CASES.filter((c) => group.includes(c.server));
    for (const [kind, { ports }] of servers) {
      if (serverWarmup <= 0) break;
      const first = cases.find((c) => c.server === kind)!;
      process.stderr.write(`bench-rpc: warming up server=${kind} for ${serverWarmup} s\n`);
      const args = [first.client, `127.0.0.1:${ports[first.port]}`, String(concurrency), "0", String(serverWarmup), ...callOptions];
      const load = spawnTs("load.ts", args);
      await jsonLine<LoadResult>(load, "rps", (serverWarmup + 60) * 1000, `warm-up load ${first.client}`);
      await stop(load);
    }
    for (let round = 0; round < (cases.some(isBudget) ? rounds : 1); round++) {
      for (const c of cases.filter((c) => round === 0 || isBudget(c))) {
        const { child, ports } = servers.get(c.server)!;
        await measure(c, child, ports[c.port]!, round);
      }
    }
    for (const [kind, { ports }] of servers) {
      if (!ghz || !protoset || kind === "serve") continue;
      process.stderr.write(`bench-rpc: ghz against server=${kind} c=${concurrency} ... `);
      try {
        const g = runGhz(ghz, protoset, ports[kind === "connect-node" ? "http" : "grpc"]!, kind);
        ghzRows.push(g);
        process.stderr.write(`${Math.round(g.rps)} req/s, p99 ${ms(g.p99)} ms\n`);
      } catch (err) {
        process.stderr.write(`ghz failed (not counted as a benchmark failure): ${err instanceof Error ? err.message : err}\n`);
      }
    }
    for (const { child } of servers.values()) await stop(child);
  }
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
} finally {
  killAll();
}

const rows: Row[] = CASES.flatMap((c) => {
  const all = samples.get(c) ?? [];
  const cpu = all.map((s) => s.serverCpuUsPerCall);
  const mid = all.find((s) => s.serverCpuUsPerCall === median(cpu)) ?? all[(all.length - 1) >> 1];
  return mid ? [{ ...c, ...mid, roundsServerCpuUsPerCall: cpu }] : [];
});
const budgetSamples = (kind: BudgetServer) => samples.get(CASES.find((c) => c.server === kind && isBudget(c))!) ?? [];
const perRound = (pick: (s: Sample) => number) =>
  Object.fromEntries(BUDGET_SERVERS.map((k) => [k, budgetSamples(k).map(pick)])) as Record<BudgetServer, number[]>;
const costs = budget(
  perRound((s) => s.serverCpuUsPerCall),
  BUDGET_US,
);
if (!smoke) failures.push(...budgetFailures(costs));

// Report.
const nOf = (r: Case) => CASES.findIndex((c) => c.server === r.server && c.port === r.port && c.client === r.client) + 1;
const row = (server: ServerKind, client: ClientKind) => rows.find((r) => r.server === server && r.client === client);
const rps = (s: ServerKind, c: ClientKind) => row(s, c)?.rps ?? Number.NaN;
const srvCpu = (s: ServerKind, c: ClientKind) => row(s, c)?.serverCpuUsPerCall ?? Number.NaN;
const cliCpu = (s: ServerKind, c: ClientKind) => row(s, c)?.clientCpuUsPerCall ?? Number.NaN;
const x = (v: number) => `${v.toFixed(1)}x`;
const lines = [
  "| # | server | client | req/s | p50 ms | p90 | p99 | p99.9 | vs 1 | server µs/call | client µs/call |",
  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${nOf(r)} | ${serverName(r)} | ${CLIENT_NAMES[r.client]} | ${Math.round(r.rps)} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ` +
      `${ms(r.p999)} | ${(r.rps / (rows[0]?.rps ?? Number.NaN)).toFixed(2)} | ${Math.round(r.serverCpuUsPerCall)} | ${Math.round(r.clientCpuUsPerCall)} |`,
  ),
];
const medianOf = `; cases ${CASES.filter(isBudget).map(nOf).join(", ")}: the round with the median server CPU of ${rounds}`;
lines.push(`Every call carries a bearer token and every other one a traceparent${rounds > 1 ? medianOf : ""}.`);
const ratios = {
  serverSameClientGrpcJs: rps("grpc-js", "grpc-js") / rps("connect-node", "grpc-js"),
  serverSameClientConnect: rps("grpc-js", "connect-grpc") / rps("connect-node", "connect-grpc"),
  clientOnGrpcJsServer: rps("grpc-js", "grpc-js") / rps("grpc-js", "connect-grpc"),
  clientOnConnectServer: rps("connect-node", "grpc-js") / rps("connect-node", "connect-grpc"),
  // CPU per call, connect-node over grpc-js: the cost of each stack, less sensitive to which side is the bottleneck
  serverCpuSameClientGrpcJs: srvCpu("connect-node", "grpc-js") / srvCpu("grpc-js", "grpc-js"),
  serverCpuSameClientConnect: srvCpu("connect-node", "connect-grpc") / srvCpu("grpc-js", "connect-grpc"),
  clientCpuOnGrpcJsServer: cliCpu("grpc-js", "connect-grpc") / cliCpu("grpc-js", "grpc-js"),
  clientCpuOnConnectServer: cliCpu("connect-node", "connect-grpc") / cliCpu("connect-node", "grpc-js"),
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
  lines.push("ghz: skipped (not found on PATH, in $GOPATH/bin or $INFRA_HOME/bin); install: bash scripts/infra/ghz.sh install");
}
const otherCores = perRound((s) => s.otherCores);
const busiest = Math.max(0, ...Object.values(otherCores).flat());
lines.push(
  "",
  ...budgetTable(costs, !smoke),
  `Other work on the box during these rounds: up to ${busiest.toFixed(2)} cores` +
    (busiest > 0.25 && !smoke ? " (a disturbed run: rerun on a quiet box before trusting the verdict)." : "."),
);
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
    rounds,
  };
  writeFileSync(
    out,
    `${JSON.stringify({ ...meta, cases: rows, ratios, fasterClient: faster, ghz: ghz ? ghzRows : "skipped", budget: { ...costs, otherCores }, failures }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${path.relative(root, out)}\n`);
}
if (failures.length > 0) {
  process.stderr.write(`bench-rpc: FAILED\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
  process.exit(1);
}
