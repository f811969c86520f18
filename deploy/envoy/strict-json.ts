// Unknown JSON fields at the edge. Envoy's grpc_json_transcoder drops a body field the request
// message does not have, silently (envoyproxy/envoy#46623; no option rejects it), so a typo in a
// client ("usename") would be ignored. A small Lua filter refuses such a body with 400 before
// transcoding: each REST route carries, in its metadata, the tree of the field names its
// request message accepts (JSON and proto names), generated here from the descriptors.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { Binding, Rpc } from "../../scripts/gen/api.js";

/** A message: its field names → the subtree of each; true: any value (scalar, map, Struct, ...). */
export type FieldTree = { [name: string]: FieldTree | true };

/** Messages whose JSON form is not an object of their fields. */
const OPAQUE = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.Any",
  "google.protobuf.Empty",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.BoolValue",
  "google.protobuf.Int32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);
const MAX_DEPTH = 6;

function tree(msg: DescMessage, depth: number): FieldTree | true {
  if (OPAQUE.has(msg.typeName) || depth > MAX_DEPTH) return true;
  const out: FieldTree = {};
  for (const f of msg.fields) {
    const sub = fieldTree(f, depth);
    out[f.jsonName] = sub;
    out[f.name] = sub;
  }
  return out;
}

function fieldTree(f: DescField, depth: number): FieldTree | true {
  if (f.fieldKind === "message") return tree(f.message, depth + 1);
  if (f.fieldKind === "list" && f.listKind === "message") return tree(f.message, depth + 1);
  return true; // scalars, enums, repeated scalars, maps
}

/** The fields a binding's body may hold; undefined when it has no body. */
export function bodyTree(rpc: Rpc, b: Binding): FieldTree | true | undefined {
  if (!b.body) return undefined;
  if (b.body === "*") return tree(rpc.method.input, 0);
  const f = rpc.method.input.fields.find((x) => x.name === b.body);
  return f ? fieldTree(f, 0) : true;
}

/**
 * The filter's script: for a request whose route has a tree for its method (REST with a JSON
 * body), walk the body and answer 400 at the first unknown field. Malformed JSON is left to
 * the transcoder, which answers it with its own 400.
 */
export const STRICT_JSON_LUA = `
local function ws(s, i) return (s:find("[^ \\t\\r\\n]", i)) or #s + 1 end
local skip
local proto_names -- the body spelled a field by its proto name (snake_case), not its JSON name
local function str(s, i) -- s:sub(i, i) == '"'; returns the decoded string and the index after it
  local out, j = {}, i + 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\\\" then
      local e = s:sub(j + 1, j + 1)
      if e == "u" then out[#out + 1] = "?"; j = j + 6 else out[#out + 1] = e; j = j + 2 end
    else out[#out + 1] = c; j = j + 1 end
  end
  return nil, nil
end
-- walks the value at i with the allowed tree t (a table of field names, or true: anything);
-- returns the index after the value, or nil and the path of an unknown field
skip = function(s, i, t, path)
  i = ws(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    i = ws(s, i + 1)
    if s:sub(i, i) == "}" then return i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then return nil end
      local key, j = str(s, i)
      if not key then return nil end
      local sub = true
      if type(t) == "table" then
        sub = t[key]
        if sub == nil then return nil, path .. key end
        if key:find("_", 1, true) then proto_names = true end -- a JSON name has no underscore
      end
      i = ws(s, j)
      if s:sub(i, i) ~= ":" then return nil end
      local k, bad = skip(s, i + 1, sub, path .. key .. ".")
      if not k then return nil, bad end
      i = ws(s, k)
      c = s:sub(i, i)
      if c == "}" then return i + 1 end
      if c ~= "," then return nil end
      i = ws(s, i + 1)
    end
  elseif c == "[" then
    i = ws(s, i + 1)
    if s:sub(i, i) == "]" then return i + 1 end
    while true do
      local k, bad = skip(s, i, t, path)
      if not k then return nil, bad end
      i = ws(s, k)
      c = s:sub(i, i)
      if c == "]" then return i + 1 end
      if c ~= "," then return nil end
      i = i + 1
    end
  elseif c == '"' then
    local _, j = str(s, i)
    return j
  else
    local j = s:find("[,%]}%s]", i) or #s + 1
    if j == i then return nil end
    return j
  end
end

function envoy_on_request(h)
  -- REST and JSON clients get field names in errors as they spell them (the transcoder sends
  -- gRPC): JSON names, unless the query or the body used a proto name (both are accepted)
  local ct = h:headers():get("content-type")
  local query = (h:headers():get(":path") or ""):match("%?(.*)$") or ""
  proto_names = query:find("^[^=]*_") ~= nil or query:find("&[^=]*_") ~= nil
  local function spelling()
    if (ct == nil or ct:find("json", 1, true)) and not proto_names then
      h:headers():replace("x-feedmesh-field-names", "json")
    else
      h:headers():remove("x-feedmesh-field-names")
    end
  end
  local fields = h:metadata():get(h:headers():get(":method"))
  if fields == nil then return spelling() end
  local body = h:body()
  if body == nil then return spelling() end
  local s = body:getBytes(0, body:length())
  local _, unknown = skip(s, 1, fields, "")
  if unknown then
    -- plain text: the edge's local_reply_config turns it into the google.rpc.Status JSON body
    h:respond({ [":status"] = "400" }, 'unknown field "' .. unknown:gsub('[^%w_.]', '?') .. '" in the request body')
  end
  spelling()
end
`;
