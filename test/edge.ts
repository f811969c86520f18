// A real Envoy edge in front of a test system: the config rendered by deploy/envoy/render.ts (the
// same code as the committed deploy/envoy/mesh.yaml), on free loopback ports, every service routed
// to the one process under test. Envoy comes from scripts/infra/envoy.sh (installed by npm test).
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_LIMITS, type EdgeOptions, MESH_HEADER, meshOptions, renderEdge, toYaml } from "../deploy/envoy/render.js";
import { eventually } from "./harness.js";

const ROOT = new URL("..", import.meta.url).pathname;

export interface Edge {
  httpUrl: string;
  grpcUrl: string;
  adminUrl: string;
  /** Envoy's output: its own lines and the JSON access log. */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  s.close();
  return port;
}

/** Starts Envoy in front of a process serving HTTP (connect-node) on httpPort and gRPC on grpcPort. */
export async function startEdge(upstream: { httpPort: number; grpcPort: number }, overrides: Partial<EdgeOptions> = {}): Promise<Edge> {
  const bin = execFileSync("bash", [join(ROOT, "scripts/infra/envoy.sh"), "path"], { encoding: "utf8" }).trim();
  const dir = mkdtempSync(join(tmpdir(), "feedmesh-edge-"));
  const [httpPort, grpcPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const options: EdgeOptions = {
    ...meshOptions(),
    httpPort,
    grpcPort,
    adminPort,
    upstream: () => ({ http: { host: "127.0.0.1", port: upstream.httpPort }, grpc: { host: "127.0.0.1", port: upstream.grpcPort } }),
    descriptorFile: join(ROOT, "gen/feedmesh.binpb"),
    openapiFile: join(ROOT, "gen/openapi/feedmesh.openapi.json"),
    rateLimits: DEFAULT_LIMITS,
    ...overrides,
  };
  const config = join(dir, "edge.yaml");
  writeFileSync(config, toYaml(renderEdge(options), MESH_HEADER));
  let out = "";
  const child: ChildProcess = spawn(
    bin,
    ["-c", config, "--disable-hot-restart", "--concurrency", "1", "--log-level", "warn", "--file-flush-interval-msec", "200"],
    {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`envoy exited:\n${out}`);
    const res = await fetch(`${adminUrl}/ready`);
    if ((await res.text()).trim() !== "LIVE") throw new Error("not ready");
  }, 30_000).catch((err: Error) => {
    child.kill("SIGKILL");
    throw new Error(`envoy did not start: ${err.message}\n${out.slice(-3000)}`);
  });
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    grpcUrl: `http://127.0.0.1:${grpcPort}`,
    adminUrl,
    log: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Json = Record<string, any>;

/** A REST call: status, headers and the parsed JSON body (every answer of the edge is JSON). */
export async function rest(
  edge: Edge,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${edge.httpUrl}${path}`, {
    method,
    headers,
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let json: Json = {};
  if (text) json = JSON.parse(text); // throws, failing the test, if an answer is not JSON
  return { status: res.status, headers: res.headers, json };
}

let n = 0;
export async function signUp(edge: Edge, prefix = "rest") {
  const username = `${prefix}${process.pid}x${++n}`.slice(0, 30);
  const password = "Correct-Horse-9";
  const res = await rest(edge, "POST", "/v1/users", {
    body: { username, email: `${username}@example.com`, password, displayName: prefix },
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return {
    id: res.json.user.userId as string,
    username,
    password,
    token: res.json.tokens.accessToken as string,
    refresh: res.json.tokens.refreshToken as string,
  };
}

/** Asserts an error answer: its HTTP status and a google.rpc.Status body with the gRPC code. */
export function assertError(res: { status: number; json: Json }, status: number, code: number, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.code, code, JSON.stringify(res.json));
  assert.equal(typeof res.json.message, "string");
  if (message) assert.match(res.json.message, message);
}
