// Properties of the contracts and of the cross-cutting interceptors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { http } from "../gen/ts/google/api/annotations_pb.js";
import { SERVICES } from "../services/platform/clients.js";
import type { EmbeddedDb } from "../services/platform/sqlite.js";
import { newUser, startSystem, type TestSystem } from "./harness.js";

describe("contracts", () => {
  it("give every RPC of every service a google.api.http rule under /v1", () => {
    let count = 0;
    for (const service of Object.values(SERVICES)) {
      for (const method of service.methods) {
        assert.ok(hasOption(method, http), `${service.typeName}/${method.name} has no http option`);
        const rule = getOption(method, http);
        const path = rule.pattern.value as string;
        assert.match(path, /^\/v1\//, `${method.name}: ${path}`);
        count++;
      }
    }
    assert.ok(count >= 40, `only ${count} RPCs`);
  });
});

describe("interceptors", () => {
  let s: TestSystem;
  before(async () => {
    s = await startSystem();
  });
  after(() => s.stop());

  it("carry the W3C trace context from the call into the events it writes", async () => {
    const u = await newUser(s.grpc);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await s.grpc.post.createPost(
      { caption: "traced" },
      { headers: { ...u.opts.headers, traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
    );
    assert.equal(s.app.runtime.store.kind, "sqlite");
    const row = (s.app.runtime.store.db as EmbeddedDb).get(
      "SELECT headers FROM feedmesh_outbox WHERE topic = 'posts' ORDER BY seq DESC LIMIT 1",
    );
    const headers = JSON.parse(String(row?.headers)) as Record<string, string>;
    assert.match(headers.traceparent ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it("enforce the caller's deadline", async () => {
    const u = await newUser(s.grpc);
    // Login runs scrypt (tens of milliseconds): a 1 ms deadline cannot be met.
    await assert.rejects(
      s.grpc.identity.login({ login: u.username, password: u.password }, { timeoutMs: 1 }),
      (err: unknown) => err instanceof ConnectError && err.code === Code.DeadlineExceeded,
    );
  });
});
