// Test harness: starts the whole system (target all) on port 0, and builds clients over the
// wire (gRPC to the grpc-js port, Connect to the connect-node port).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../gen/ts/google/rpc/error_details_pb.js";
import { MODULES } from "../services/modules.js";
import { type App, startApp } from "../services/platform/app.js";
import { SERVICES } from "../services/platform/clients.js";
import { loadConfig } from "../services/platform/config.js";

export type Clients = { [K in keyof typeof SERVICES]: Client<(typeof SERVICES)[K]> };

export interface TestSystem {
  app: App;
  /** Clients over gRPC (HTTP/2) to the grpc-js port. */
  grpc: Clients;
  /** Clients over the Connect protocol (JSON, HTTP/1.1) to the connect-node port. */
  connect: Clients;
  httpUrl: string;
  grpcUrl: string;
  stop(): Promise<void>;
}

/** Starts every module (or those given, e.g. without one to test its outage) in one process. */
export async function startSystem(env: Record<string, string> = {}, modules: Partial<typeof MODULES> = MODULES): Promise<TestSystem> {
  // Where the test servers are (scripts/infra/infra.sh env), for suites on the real backends.
  const servers = Object.fromEntries(
    ["FEEDMESH_CASSANDRA_CONTACT_POINTS", "FEEDMESH_KAFKA_BROKERS", "FEEDMESH_REDIS_URL"].flatMap((k) =>
      process.env[k] ? [[k, process.env[k]!]] : [],
    ),
  );
  const config = loadConfig({
    ...servers,
    FEEDMESH_STORE: "memory",
    FEEDMESH_HTTP_ADDR: "127.0.0.1:0",
    FEEDMESH_GRPC_ADDR: "127.0.0.1:0",
    FEEDMESH_LOG_LEVEL: "silent",
    ...env,
  });
  const app = await startApp(config, modules);
  const httpUrl = `http://127.0.0.1:${app.server.httpPort}`;
  const grpcUrl = `http://127.0.0.1:${app.server.grpcPort}`;
  return {
    app,
    grpc: clientsFor(createGrpcTransport({ baseUrl: grpcUrl })),
    connect: clientsFor(createConnectTransport({ baseUrl: httpUrl, httpVersion: "1.1" })),
    httpUrl,
    grpcUrl,
    stop: () => app.stop(),
  };
}

export function clientsFor(transport: Transport): Clients {
  const out: Record<string, unknown> = {};
  for (const [name, desc] of Object.entries(SERVICES)) out[name] = createClient(desc as DescService, transport);
  return out as Clients;
}

/** A temporary data directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "feedmesh-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;
/** Signs up a fresh user; returns its id, token and call options carrying the token. */
export async function newUser(c: Clients, prefix = "user") {
  const n = `${prefix}${process.pid}x${++counter}`.toLowerCase().slice(0, 30);
  const password = "Correct-Horse-9";
  const res = await c.identity.signUp({ username: n, email: `${n}@example.com`, password });
  const token = res.tokens!.accessToken;
  return {
    id: res.user!.userId,
    username: n,
    password,
    token,
    refreshToken: res.tokens!.refreshToken,
    opts: { headers: { authorization: `Bearer ${token}` } },
  };
}

/** Waits until every event written so far has been relayed and consumed. */
export async function settle(s: TestSystem): Promise<void> {
  await s.app.backends.settled();
}

/** Retries an assertion until it passes or the time is up (for asynchronous effects). */
export async function eventually<T>(check: () => Promise<T>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Every post id of a reader's home feed, page after page. */
export async function readFeed(c: Clients, opts: { headers: Record<string, string> }, pageSize = 100): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = "";
  do {
    const page = await c.feed.getHomeFeed({ pageSize, pageToken }, opts);
    ids.push(...page.items.map((i) => i.post!.postId));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ids;
}

/** Asserts a call fails with a code and, when given, a field violation on `field`. */
export async function rejectsWith(call: Promise<unknown>, code: Code, field?: string): Promise<ConnectError> {
  const err = await call.then(
    () => assert.fail(`expected ${Code[code]}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError, `a ConnectError, got ${err}`);
  assert.equal(Code[err.code], Code[code], err.message);
  if (field !== undefined) {
    const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
    assert.ok(fields.includes(field), `violation on ${field}, got ${JSON.stringify(fields)}`);
  }
  return err;
}
