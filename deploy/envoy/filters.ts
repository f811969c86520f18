// The edge's HTTP filters (CORS, JWT, body buffer, strict JSON, transcoder, rate limits), its
// access log, its error bodies and its tracer, as Envoy v3 config objects (see render.ts).
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Rpc } from "../../scripts/gen/api.js";
import { templateRegex } from "../../scripts/gen/api.js";
import type { EdgeOptions, Obj } from "./options.js";
import { STRICT_JSON_LUA } from "./strict-json.js";

const AUDIENCE = "feedmesh";
/** RPCs whose routes get the strict "auth" bucket: where passwords are guessed and accounts made. */
const AUTH_CLASS = new Set(["SignUp", "Login", "Refresh"]);
const JWKS_PATH = "/feedmesh.identity.v1.IdentityService/GetJwks?connect=v1&encoding=json&message=%7B%7D";

export function tracing(): Obj {
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

export function accessLog(listenerName: string): Obj {
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

/**
 * Envoy's own error replies (401, 404, 413, 429 ...) in the shape the services' errors have for
 * the same client: google.rpc.Status JSON (`{"code": 16, "message", "details"}`) on REST paths,
 * as the transcoder renders the services' errors, and Connect's error JSON
 * (`{"code": "unauthenticated", "message"}`) on RPC paths (gRPC and gRPC-Web clients read the
 * status from trailers, which Envoy sets for them). Every token problem is 401: jwt_authn answers
 * a token for another audience with 403, which would tell a client "you may not" when it is "who
 * are you".
 */
export function localReplies(): Obj {
  // HTTP status → gRPC code (403: see above); Connect names each code (codeToString).
  const codes: [number, Code][] = [
    [400, Code.InvalidArgument],
    [401, Code.Unauthenticated],
    [403, Code.Unauthenticated],
    [404, Code.NotFound],
    [405, Code.Unimplemented],
    [413, Code.InvalidArgument],
    [415, Code.InvalidArgument],
    [429, Code.ResourceExhausted],
    [431, Code.InvalidArgument],
    [502, Code.Unavailable],
    [503, Code.Unavailable],
    [504, Code.DeadlineExceeded],
  ];
  const rpcPath = { header_filter: { header: { name: ":path", string_match: { safe_regex: { regex: "^/(feedmesh|grpc)\\.[^/]+/.*" } } } } };
  // The transcoder has rewritten a REST call's :path to its RPC's by then; it keeps the original.
  const notRest = { header_filter: { header: { name: "x-envoy-original-path", present_match: true, invert_match: true } } };
  return {
    mappers: codes.flatMap(([status, code]) => {
      const byStatus = {
        status_code_filter: { comparison: { op: "EQ", value: { default_value: status, runtime_key: `edge.local_reply.${status}` } } },
      };
      // The only local 403 is jwt_authn's (the services' PERMISSION_DENIED is not a local reply).
      const as401 =
        status === 403 ? { status_code: 401, headers_to_add: [header("www-authenticate", 'Bearer error="invalid_token"')] } : {};
      return [
        {
          filter: { and_filter: { filters: [byStatus, rpcPath, notRest] } },
          ...as401,
          body_format_override: {
            json_format: { code: codeToString(code), message: "%LOCAL_REPLY_BODY%" },
            content_type: "application/json",
          },
        },
        {
          filter: byStatus,
          ...as401,
          body_format_override: { json_format: { code, message: "%LOCAL_REPLY_BODY%", details: [] }, content_type: "application/json" },
        },
      ];
    }),
  };
}

export function header(key: string, value: string): Obj {
  return { header: { key, value }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" };
}

export function classOf(r: Rpc): "auth" | "write" | "read" {
  if (r.target === "identity" && AUTH_CLASS.has(r.method.name)) return "auth";
  return r.mutates ? "write" : "read";
}

const buckets = new WeakMap<EdgeOptions, Map<string, Obj>>();

/** One object per class, so that the YAML names it once (&rl_write) and refers to it (*rl_write). */
export function bucket(o: EdgeOptions, cls: "auth" | "write" | "read"): Obj {
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

export function cors(o: EdgeOptions): Obj {
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

export function filters(o: EdgeOptions, rpcs: Rpc[], rest: boolean): Obj[] {
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
