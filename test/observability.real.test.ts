// Observability end to end, in the microservices mode on the real backends behind the Envoy edge:
// one trace per request across the edge, every service called, Cassandra and Redis, and the Kafka
// hop with its consumers (read back from Zipkin's API); each target's /metrics with the metrics
// docs/observability.md lists; the trace id in an error answer.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type Edge, rest, signUp, startEdge } from "./edge.js";
import { eventually } from "./harness.js";
import { Mesh } from "./mesh.js";

const ZIPKIN_SH = new URL("../scripts/infra/zipkin.sh", import.meta.url).pathname;
const ZIPKIN = "http://127.0.0.1:19411";
const TARGETS = ["identity", "graph", "post", "media", "feed", "fanout", "engagement", "notification", "search"] as const;
type Target = (typeof TARGETS)[number];

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: "CLIENT" | "SERVER" | "PRODUCER" | "CONSUMER";
  name: string;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/** A new W3C trace context, sampled: the edge continues it, so the test knows the trace id. */
function traceparent(): { header: string; traceId: string } {
  const traceId = randomBytes(16).toString("hex");
  return { header: `00-${traceId}-${randomBytes(8).toString("hex")}-01`, traceId };
}

async function zipkinTrace(traceId: string): Promise<ZipkinSpan[]> {
  const res = await fetch(`${ZIPKIN}/api/v2/trace/${traceId}`);
  return res.ok ? ((await res.json()) as ZipkinSpan[]) : [];
}

const service = (s: ZipkinSpan) => s.localEndpoint?.serviceName ?? "";

describe("observability: traces across the mesh, metrics on every target", () => {
  let mesh: Mesh<Target>;
  let edge: Edge;
  before(async () => {
    await promisify(execFile)("bash", [ZIPKIN_SH, "start"], { timeout: 300_000 });
    mesh = await Mesh.start(TARGETS, {
      FEEDMESH_STORE: "cassandra",
      FEEDMESH_CASSANDRA_KEYSPACE: "feedmesh_e2e",
      FEEDMESH_KAFKA_TOPIC_PREFIX: `obs${process.pid}.`,
      FEEDMESH_SECRET: "an-observability-secret-long-enough-0",
      OTEL_TRACES_EXPORTER: "zipkin",
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${ZIPKIN}/api/v2/spans`,
      OTEL_BSP_SCHEDULE_DELAY: "200",
    });
    const at = (t: Target) => mesh.ports.get(t)!;
    edge = await startEdge(
      { httpPort: at("identity").http, grpcPort: at("identity").grpc },
      {
        upstream: (t) => ({ http: { host: "127.0.0.1", port: at(t).http }, grpc: { host: "127.0.0.1", port: at(t).grpc } }),
        zipkin: { host: "127.0.0.1", port: 19411 },
      },
    );
  });
  after(async () => {
    await edge?.stop();
    await mesh?.stop();
  });

  it("traces a CreatePost from the edge through the post service, the outbox and Kafka to every consumer", async () => {
    const author = await signUp(edge, "obsauthor");
    const t = traceparent();
    const created = await rest(edge, "POST", "/v1/posts", {
      token: author.token,
      body: { caption: "traced #obs" },
      headers: { traceparent: t.header },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    // spans reach Zipkin from each process in its own time: the whole check is retried
    await eventually(async () => {
      const spans = await zipkinTrace(t.traceId);
      const groups = new Set(spans.filter((s) => s.kind === "CONSUMER").map((s) => s.tags?.["messaging.consumer.group.name"]));
      for (const g of ["fanout", "search", "notification", "feed-model"])
        assert.ok(groups.has(g), `a consumer span of ${g}: ${[...groups]}`);
      const services = new Set(spans.map(service));
      for (const s of ["feedmesh-edge", "feedmesh-post", "feedmesh-fanout", "feedmesh-search", "feedmesh-notification"]) {
        assert.ok(services.has(s), `${s} in ${[...services]}`);
      }
      const byId = new Map(spans.map((s) => [s.id, s]));
      const producer = spans.find((s) => s.kind === "PRODUCER" && s.name === "posts publish");
      assert.ok(producer, "the outbox relay's publish span");
      assert.equal(service(byId.get(producer.parentId!)!), "feedmesh-post", "published from the post service's request");
      for (const c of spans.filter((s) => s.kind === "CONSUMER"))
        assert.equal(c.parentId, producer.id, `${c.name} continues the publish span`);
      assert.ok(
        spans.some((s) => s.kind === "CLIENT" && s.tags?.["db.system.name"] === "cassandra" && service(s) === "feedmesh-post"),
        "Cassandra client spans of the post service",
      );
      assert.ok(
        spans.some((s) => s.kind === "CLIENT" && s.tags?.["db.system.name"] === "redis"),
        "Redis client spans (the read model's)",
      );
      // one trace: every span but the edge's has its parent in it, and no argument leaks into a tag
      const roots = spans.filter((s) => !s.parentId || !byId.has(s.parentId));
      assert.deepEqual(roots.map(service), ["feedmesh-edge"], "the edge's span is the only root");
      assert.equal(roots[0]!.name.toLowerCase(), "feedmesh.post.v1.postservice/createpost", "the edge's span is named for the RPC");
      assert.ok(!JSON.stringify(spans).includes("traced #obs"), "the caption is in no span");
    }, 30_000);
  });

  it("traces a REST GetHomeFeed through the edge, the feed service, every service it calls, and Redis", async () => {
    const reader = await signUp(edge, "obsreader");
    const t = traceparent();
    const feed = await rest(edge, "GET", "/v1/feed?pageSize=10", { token: reader.token, headers: { traceparent: t.header } });
    assert.equal(feed.status, 200, JSON.stringify(feed.json));
    await eventually(async () => {
      const spans = await zipkinTrace(t.traceId);
      assert.ok(spans.some((s) => service(s) === "feedmesh-feed" && s.kind === "SERVER"));
      const byId = new Map(spans.map((s) => [s.id, s]));
      const roots = spans.filter((s) => !s.parentId || !byId.has(s.parentId));
      assert.deepEqual(roots.map(service), ["feedmesh-edge"], "the edge's span is the only root");
      // each call the feed made to another service has that service's server span beneath it
      const calls = spans.filter((s) => s.kind === "CLIENT" && s.tags?.["rpc.system"] === "grpc");
      assert.ok(calls.length > 0, "the feed called other services");
      for (const call of calls) {
        const server = spans.find((s) => s.parentId === call.id && s.kind === "SERVER");
        assert.ok(server, `a server span under ${call.name}`);
        assert.notEqual(service(server), service(call), `${call.name} crosses a process`);
      }
      assert.ok(
        spans.some((s) => s.kind === "CLIENT" && s.tags?.["db.system.name"] === "redis" && service(s) === "feedmesh-feed"),
        "Redis client spans of the feed",
      );
    }, 30_000);
  });

  it("quotes the trace id in an error answer", async () => {
    const u = await signUp(edge, "obserr");
    const t = traceparent();
    const res = await rest(edge, "GET", "/v1/users/abc/followers", { token: u.token, headers: { traceparent: t.header } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("x-trace-id"), t.traceId);
  });

  it("serves each target's metrics as Prometheus text, and the edge's", async () => {
    const metrics = async (t: Target) => (await fetch(`http://127.0.0.1:${mesh.ports.get(t)!.http}/metrics`)).text();
    const has = (text: string, series: RegExp, where: string) => assert.match(text, series, `${series} on ${where}`);
    for (const t of TARGETS) {
      const text = await metrics(t);
      has(text, /^nodejs_eventloop_delay_p99_seconds\{.*\} \d/m, t);
      has(text, /^v8js_memory_heap_used_bytes\{.*\} \d/m, t);
      has(text, /^target_info\{.*service_name="feedmesh-[a-z]+".*\} 1/m, t);
    }
    await eventually(async () => {
      const feed = await metrics("feed");
      has(
        feed,
        /^rpc_server_duration_seconds_count\{rpc_system="grpc",rpc_service="feedmesh.feed.v1.FeedService",rpc_method="GetHomeFeed",rpc_grpc_status_code="0",.*\} [1-9]/m,
        "feed",
      );
      has(feed, /^feedmesh_feed_cache_requests_total\{result="(hit|miss)".*\} [1-9]/m, "feed");
      has(feed, /^db_client_operation_duration_seconds_count\{db_system_name="redis",.*\} [1-9]/m, "feed");
      const graph = await metrics("graph");
      has(graph, /^rpc_server_duration_seconds_count\{.*rpc_method="ListFollowers",rpc_grpc_status_code="3",.*\} [1-9]/m, "graph");
      const post = await metrics("post");
      has(post, /^feedmesh_outbox_backlog\{.*\} \d+/m, "post");
      has(post, /^feedmesh_outbox_relay_delay_seconds_count\{.*\} [1-9]/m, "post");
      has(post, /^db_client_operation_duration_seconds_count\{db_system_name="cassandra",.*\} [1-9]/m, "post");
      const fanout = await metrics("fanout");
      const posts = 'messaging_destination_name="posts",messaging_consumer_group_name="fanout"';
      has(fanout, new RegExp(`^feedmesh_event_consume_lag_seconds_count\\{${posts},.*\\} [1-9]`, "m"), "fanout");
      has(fanout, new RegExp(`^feedmesh_event_delivery_seconds_bucket\\{${posts},.*le="5"\\} [1-9]`, "m"), "fanout");
      has(fanout, new RegExp(`^feedmesh_event_processed_total\\{${posts},outcome="ok".*\\} [1-9]`, "m"), "fanout");
      has(
        fanout,
        /^feedmesh_kafka_consumer_lag\{messaging_destination_name="posts",messaging_consumer_group_name="fanout",.*\} \d+/m,
        "fanout",
      );
    }, 30_000);
    const envoy = await (await fetch(`${edge.adminUrl}/stats/prometheus`)).text();
    assert.match(envoy, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="feed_http"\} [1-9]/m);
  });
});
