// The public API as the edge sees it: every RPC of every service with its gRPC path, its REST
// bindings (google.api.http, additional bindings included), whether it is public (callable
// without a token) and whether it changes state. The Envoy edge config (deploy/envoy/render.ts)
// and the OpenAPI document (scripts/gen/openapi.ts) are both derived from this one listing.
import { type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { http } from "../../gen/ts/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/ts/google/api/http_pb.js";
import { PUBLIC_METHODS } from "../../services/platform/auth.js";
import { SERVICES, type ServiceName } from "../../services/platform/clients.js";

export type Verb = "get" | "put" | "post" | "delete" | "patch";

export interface Binding {
  verb: Verb;
  /** The path template as written in the proto, e.g. /v1/users/{user_id}:follow */
  template: string;
  /** "" (no body: every field not in the path is a query parameter), "*" or a field name */
  body: string;
}

export interface Rpc {
  target: ServiceName;
  service: DescService;
  method: DescMethod;
  /** /feedmesh.post.v1.PostService/CreatePost */
  grpcPath: string;
  bindings: Binding[];
  public: boolean;
  /** Not marked NO_SIDE_EFFECTS: creates, changes or deletes something. */
  mutates: boolean;
  serverStreaming: boolean;
}

function bindingsOf(rule: HttpRule): Binding[] {
  const out: Binding[] = [];
  const { pattern } = rule;
  if (pattern.case && pattern.case !== "custom") out.push({ verb: pattern.case, template: pattern.value, body: rule.body });
  for (const extra of rule.additionalBindings) out.push(...bindingsOf(extra));
  return out;
}

export function listRpcs(): Rpc[] {
  const out: Rpc[] = [];
  for (const [target, service] of Object.entries(SERVICES) as [ServiceName, DescService][]) {
    for (const method of service.methods) {
      const grpcPath = `/${service.typeName}/${method.name}`;
      out.push({
        target,
        service,
        method,
        grpcPath,
        bindings: hasOption(method, http) ? bindingsOf(getOption(method, http)) : [],
        public: PUBLIC_METHODS.has(`${service.typeName}/${method.name}`),
        mutates: method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
        serverStreaming: method.methodKind === "server_streaming",
      });
    }
  }
  return out;
}

/** The path variables of a template: /v1/users/{user_id}/posts → ["user_id"]. */
export function pathVariables(template: string): string[] {
  return [...template.matchAll(/\{([a-z_.]+)(?:=[^}]*)?\}/g)].map((m) => m[1]!);
}

/**
 * A RE2 regex matching the concrete paths of a template (a variable is one path segment, or the
 * segments of its `=pattern`), with an optional query string. For Envoy route and JWT rules.
 */
export function templateRegex(template: string): string {
  let re = "";
  let i = 0;
  for (const m of template.matchAll(/\{[^}]*\}/g)) {
    re += escapeRe(template.slice(i, m.index));
    const pattern = m[0].includes("=") ? m[0].slice(m[0].indexOf("=") + 1, -1) : "*";
    re += pattern
      .split("/")
      .map((seg) => (seg === "**" ? ".+" : seg === "*" ? "[^/]+" : escapeRe(seg)))
      .join("/");
    i = m.index + m[0].length;
  }
  re += escapeRe(template.slice(i));
  return `^${re}$`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\:]/g, (c) => (c === ":" ? ":" : `\\${c}`));
}
