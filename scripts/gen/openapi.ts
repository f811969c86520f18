// Generates the OpenAPI 3.1 document of the REST API from the protos: every google.api.http
// binding of every RPC (scripts/gen/api.ts), with the proto3 JSON mapping the edge's transcoder
// uses, the protovalidate rules as JSON Schema constraints and the proto comments as descriptions.
// Committed as gen/openapi/feedmesh.openapi.json (make gen; scripts/check-gen.sh keeps it fresh)
// and served by the edge at GET /openapi.json.
//
//   node --import tsx scripts/gen/openapi.ts [--out FILE]
import { readFileSync, writeFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescEnum,
  type DescField,
  type DescMessage,
  fromBinary,
  getOption,
  hasOption,
  ScalarType,
} from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { getComments } from "@bufbuild/protoplugin";
import { field as validateField } from "../../gen/ts/buf/validate/validate_pb.js";
import { listRpcs, pathVariables, type Rpc } from "./api.js";

type Schema = Record<string, unknown>;

const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(new URL("../../gen/feedmesh.binpb", import.meta.url))) as FileDescriptorSet,
);

/** The comment of an element, from the descriptor set's source info. */
function doc(typeName: string, kind: "message" | "enum" | "service"): string | undefined {
  const d =
    kind === "message" ? registry.getMessage(typeName) : kind === "enum" ? registry.getEnum(typeName) : registry.getService(typeName);
  return d ? clean(getComments(d).leading) : undefined;
}
function fieldDoc(f: DescField): string | undefined {
  const msg = registry.getMessage(f.parent.typeName);
  const own = msg?.fields.find((x) => x.number === f.number);
  return own ? clean(getComments(own).leading) : undefined;
}
function methodDoc(rpc: Rpc): string | undefined {
  const m = registry.getService(rpc.service.typeName)?.methods.find((x) => x.name === rpc.method.name);
  return m ? clean(getComments(m).leading) : undefined;
}
function clean(s: string | undefined): string | undefined {
  const t = s
    ?.split("\n")
    .map((l) => l.trim())
    .join("\n")
    .trim();
  return t ? t : undefined;
}

const components: Record<string, Schema> = {};

const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" },
  "google.protobuf.FieldMask": { type: "string", description: "Comma-separated lowerCamelCase field paths." },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] },
};

function ref(msg: DescMessage): Schema {
  const wk = WELL_KNOWN[msg.typeName];
  if (wk) return wk;
  if (!components[msg.typeName]) {
    components[msg.typeName] = {}; // placeholder against recursion
    components[msg.typeName] = messageSchema(msg, new Set());
  }
  return { $ref: `#/components/schemas/${msg.typeName}` };
}

function messageSchema(msg: DescMessage, omit: Set<string>): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const f of msg.fields) {
    if (omit.has(f.name)) continue;
    properties[f.jsonName] = fieldSchema(f);
    // absent is the empty value in proto3 JSON: a field that may not be empty must be present
    const { item, list } = constraints(f);
    const nonEmpty =
      (item.minLength as number) > 0 ||
      (list.minItems as number) > 0 ||
      item.format === "email" ||
      Array.isArray(item.enum) ||
      (typeof item.pattern === "string" && f.fieldKind === "scalar" && !new RegExp(item.pattern).test(""));
    if ((hasOption(f, validateField) && getOption(f, validateField).required) || nonEmpty) required.push(f.jsonName);
  }
  return {
    type: "object",
    ...(doc(msg.typeName, "message") ? { description: doc(msg.typeName, "message") } : {}),
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function enumSchema(e: DescEnum): Schema {
  const name = e.typeName;
  components[name] ??= {
    type: "string",
    enum: e.values.map((v) => v.name),
    ...(doc(name, "enum") ? { description: doc(name, "enum") } : {}),
  };
  return { $ref: `#/components/schemas/${name}` };
}

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]{1,19}$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]{1,20}$" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return { type: "number" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    default:
      return { type: "string" };
  }
}

function singular(f: DescField): Schema {
  if (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) return scalarSchema(f.scalar!);
  if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) return enumSchema(f.enum!);
  if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) return ref(f.message!);
  return {};
}

/** protovalidate rules that JSON Schema can say. */
function constraints(f: DescField): { item: Schema; list: Schema } {
  if (!hasOption(f, validateField)) return { item: {}, list: {} };
  const rules = getOption(f, validateField);
  const t = rules.type;
  const item: Schema = {};
  const list: Schema = {};
  const str = (r: { minLen?: bigint; maxLen?: bigint; pattern?: string; in?: string[]; wellKnown?: { case?: string } }) => {
    if (r.minLen) item.minLength = Number(r.minLen);
    if (r.maxLen) item.maxLength = Number(r.maxLen);
    if (r.pattern) item.pattern = r.pattern;
    if (r.in?.length) item.enum = r.in;
    if (r.wellKnown?.case === "email") item.format = "email";
  };
  const num = (r: { greaterThan?: { case?: string; value?: unknown }; lessThan?: { case?: string; value?: unknown } }) => {
    const v = (x: unknown) => (typeof x === "bigint" ? Number(x) : (x as number));
    if (r.greaterThan?.case === "gte") item.minimum = v(r.greaterThan.value);
    if (r.greaterThan?.case === "gt") item.exclusiveMinimum = v(r.greaterThan.value);
    if (r.lessThan?.case === "lte") item.maximum = v(r.lessThan.value);
    if (r.lessThan?.case === "lt") item.exclusiveMaximum = v(r.lessThan.value);
  };
  switch (t.case) {
    case "string":
      str(t.value as never);
      break;
    case "int32":
    case "uint32":
    case "int64":
      num(t.value as never);
      break;
    case "repeated": {
      const r = t.value;
      if (r.minItems) list.minItems = Number(r.minItems);
      if (r.maxItems) list.maxItems = Number(r.maxItems);
      if (r.unique) list.uniqueItems = true;
      if (r.items?.type.case === "string") str(r.items.type.value as never);
      if (r.items?.type.case === "int32" || r.items?.type.case === "int64") num(r.items.type.value as never);
      break;
    }
    default:
  }
  // int64 is a JSON string: its bounds cannot be said as minimum/maximum
  if (t.case === "int64") {
    for (const k of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) delete item[k];
  }
  return { item, list };
}

function fieldSchema(f: DescField): Schema {
  const { item, list } = constraints(f);
  const description = fieldDoc(f);
  const base = singular(f);
  const withItem = Object.keys(item).length ? ("$ref" in base ? { allOf: [base], ...item } : { ...base, ...item }) : base;
  let schema: Schema;
  if (f.fieldKind === "list") schema = { type: "array", items: withItem, ...list };
  else if (f.fieldKind === "map") {
    const value = f.mapKind === "scalar" ? scalarSchema(f.scalar) : f.mapKind === "enum" ? enumSchema(f.enum) : ref(f.message);
    schema = { type: "object", additionalProperties: value };
  } else schema = withItem;
  if (description) schema = "$ref" in schema ? { allOf: [schema], description } : { ...schema, description };
  return schema;
}

function field(msg: DescMessage, path: string): DescField | undefined {
  const [head, ...rest] = path.split(".");
  const f = msg.fields.find((x) => x.name === head);
  if (!f || rest.length === 0) return f;
  return f.message ? field(f.message, rest.join(".")) : undefined;
}

/** The query parameters of a binding without a body: every scalar, enum or repeated scalar field left. */
function queryParams(msg: DescMessage, bound: Set<string>): Schema[] {
  return msg.fields
    .filter((f) => !bound.has(f.name))
    .filter((f) => f.fieldKind === "scalar" || f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind !== "message"))
    .map((f) => ({
      name: f.jsonName,
      in: "query",
      required: false,
      ...(f.fieldKind === "list" ? { explode: true } : {}),
      schema: fieldSchema(f),
      ...(fieldDoc(f) ? { description: fieldDoc(f) } : {}),
    }));
}

function operation(rpc: Rpc, b: Rpc["bindings"][number], suffix: string): Schema {
  const input = rpc.method.input;
  const vars = pathVariables(b.template);
  const params: Schema[] = vars.map((v) => {
    const f = field(input, v);
    return {
      name: v,
      in: "path",
      required: true,
      schema: f ? { minLength: 1, pattern: "^[^/]+$", ...fieldSchema(f) } : { type: "string" },
    };
  });
  const bound = new Set(vars.map((v) => v.split(".")[0]!));
  let requestBody: Schema | undefined;
  if (b.body === "*") {
    requestBody = { required: true, content: { "application/json": { schema: messageSchema(input, bound) } } };
  } else if (b.body) {
    const f = field(input, b.body)!;
    requestBody = { required: true, content: { "application/json": { schema: fieldSchema(f) } } };
    params.push(...queryParams(input, new Set([...bound, b.body])));
  } else {
    params.push(...queryParams(input, bound));
  }
  const out = ref(rpc.method.output);
  return {
    operationId: `${rpc.service.name}_${rpc.method.name}${suffix}`,
    tags: [rpc.service.name],
    ...(methodDoc(rpc) ? { summary: methodDoc(rpc)!.split("\n")[0], description: methodDoc(rpc) } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      "200": {
        description: "OK",
        content: { "application/json": { schema: rpc.serverStreaming ? { type: "array", items: out } : out } },
      },
      default: {
        description: "An error: the google.rpc.Status of the failed call",
        content: { "application/json": { schema: ref(STATUS) } },
      },
    },
    // public RPCs take a token when there is one; the others need it
    security: rpc.public ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
  };
}

const STATUS = registry.getMessage("google.rpc.Status")!;

export function openapi(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  const tags = new Map<string, string | undefined>();
  for (const rpc of listRpcs()) {
    tags.set(rpc.service.name, doc(rpc.service.typeName, "service"));
    rpc.bindings.forEach((b, i) => {
      const path = b.template.replace(/\{([a-z_.]+)=[^}]*\}/g, "{$1}");
      paths[path] ??= {};
      paths[path][b.verb] = operation(rpc, b, i === 0 ? "" : `_${i}`);
    });
  }
  ref(STATUS);
  return {
    openapi: "3.1.0",
    info: {
      title: "feedmesh",
      version: "v1",
      description:
        "The REST/JSON face of feedmesh, served by the Envoy edge (grpc_json_transcoder) from the same protos as the gRPC API. Generated by scripts/gen/openapi.ts: do not edit.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "http://127.0.0.1:8080", description: "the edge of `make up`" }],
    tags: [...tags].map(([name, description]) => ({ name, ...(description ? { description } : {}) })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1]! : "gen/openapi/feedmesh.openapi.json";
  writeFileSync(out, `${JSON.stringify(openapi(), null, 2)}\n`);
  console.error(`wrote ${out}`);
}
