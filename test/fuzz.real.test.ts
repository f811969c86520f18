// API fuzzing: schemathesis (PyPI, scripts/infra/schemathesis.sh) generates requests, valid and
// invalid, from the committed OpenAPI document and sends them through the real Envoy edge to the
// system on Cassandra, Kafka and Redis, as an anonymous caller and as a signed-in one. No request
// may get a 5xx or hang (a request that takes longer than the timeout fails the run).
// FEEDMESH_FUZZ_EXAMPLES sets the examples per operation (default 15; the run then takes ~1-2 min).
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Edge, startEdge } from "./edge.js";
import { newUser, startSystem, type TestSystem } from "./harness.js";

const ROOT = new URL("..", import.meta.url).pathname;
const EXAMPLES = process.env.FEEDMESH_FUZZ_EXAMPLES ?? "15";
const UNLIMITED = { maxTokens: 1_000_000, perSecond: 1_000_000 };

/** Runs schemathesis; resolves with its exit code and output, and the failures its JUnit report lists. */
function fuzz(edge: Edge, headers: string[]): Promise<{ code: number; out: string; failures: string[]; tested: number }> {
  const st = execFileSync("bash", [join(ROOT, "scripts/infra/schemathesis.sh"), "path"], { encoding: "utf8" }).trim();
  const reports = mkdtempSync(join(tmpdir(), "feedmesh-fuzz-"));
  const args = [
    "run",
    join(ROOT, "gen/openapi/feedmesh.openapi.json"),
    "--url",
    edge.httpUrl,
    ...headers.flatMap((h) => ["-H", h]),
    "--checks",
    "not_a_server_error",
    "--max-examples",
    EXAMPLES,
    "--workers",
    "2",
    "--request-timeout",
    "20",
    "--seed",
    "20261123",
    "--report",
    "junit",
    "--report-dir",
    reports,
    "--no-color",
    // a server stream that lasts as long as the client stays: it has no end for a fuzzer to wait
    // for (its REST form is tested in test/edge.real.test.ts, its gRPC form by the matrix)
    "--exclude-operation-id",
    "NotificationService_StreamNotifications",
  ];
  return new Promise((resolve) => {
    // in the reports directory: schemathesis keeps a .schemathesis/ cache where it runs
    execFile(st, args, { cwd: reports, maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 }, (err, stdout, stderr) => {
      const failures: string[] = [];
      let tested = 0;
      for (const f of readdirSync(reports).filter((n) => n.endsWith(".xml"))) {
        const xml = readFileSync(join(reports, f), "utf8");
        tested += [...xml.matchAll(/<testcase /g)].length;
        for (const m of xml.matchAll(/<testcase name="([^"]*)"[^>]*>\s*<(failure|error)[^>]*>([\s\S]*?)<\/\2>/g)) {
          const text = m[3]!.replaceAll("&#10;", "\n").replaceAll("&quot;", '"');
          // a crash inside the fuzzer itself (hypothesis' own bugs) is not an answer of ours
          if (m[2] === "error" && text.startsWith("Runtime Error") && text.includes("site-packages/hypothesis/")) continue;
          failures.push(`${m[1]}: ${text.slice(0, 600)}`);
        }
      }
      rmSync(reports, { recursive: true, force: true });
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}`, failures, tested });
    });
  });
}

describe("schemathesis against the edge (Cassandra, Kafka, Redis)", () => {
  let s: TestSystem;
  let edge: Edge;
  before(async () => {
    s = await startSystem({
      FEEDMESH_STORE: "cassandra",
      FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
      FEEDMESH_KAFKA_TOPIC_PREFIX: `fuzz${process.pid}.`,
      FEEDMESH_SECRET: "a-fuzz-suite-secret-long-enough-000000",
    });
    edge = await startEdge(
      { httpPort: s.app.server.httpPort, grpcPort: s.app.server.grpcPort },
      { rateLimits: { auth: UNLIMITED, write: UNLIMITED, read: UNLIMITED } },
    );
  });
  after(async () => {
    await edge?.stop();
    await s?.stop();
  });

  it("gets no 5xx and no hang from any generated request, signed in", { timeout: 20 * 60_000 }, async () => {
    const u = await newUser(s.grpc, "fuzz");
    const run = await fuzz(edge, [`Authorization: Bearer ${u.token}`]);
    assert.deepEqual(run.failures, [], run.out.slice(-4000));
    assert.match(run.out, /Tested: 4\d/, run.out.slice(-4000)); // every operation was exercised
    assert.ok(run.tested >= 40, `the JUnit report lists ${run.tested} operations`);
  });

  it("gets no 5xx and no hang from any generated request, anonymous", { timeout: 20 * 60_000 }, async () => {
    const run = await fuzz(edge, []);
    assert.deepEqual(run.failures, [], run.out.slice(-4000));
    assert.match(run.out, /Tested: 4\d/, run.out.slice(-4000));
    assert.ok(run.tested >= 40, `the JUnit report lists ${run.tested} operations`);
  });
});
