// Field violations as a person reads them: the contract's validation failures (protovalidate)
// with the rule said in words rather than as a regular expression or "at least 1 characters",
// and every violation's field named as the client spells it (JSON names for JSON clients, proto
// names for binary ones: handlers name fields by their proto names, and the middleware renames
// them for a JSON client with jsonFieldPath).
import type { DescMessage } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import type { Violation } from "@bufbuild/protovalidate";
import type { FieldViolation } from "./errors.js";

const ID = "^([0-9]{1,18}|[1-8][0-9]{18})$";
/** What each pattern of the protos asks for, in words. */
const PATTERNS: Record<string, string> = {
  [ID]: "must be an id: a decimal number of 1 to 19 digits",
  [ID.replace(")$", ")?$")]: "must be empty or an id: a decimal number of 1 to 19 digits",
  "^[A-Za-z0-9._]+$": "may contain only letters, digits, '.' and '_'",
  "^[A-Za-z0-9_-]*$": "may contain only letters, digits, '_' and '-'",
};

/** A path as "media_ids[2]" (proto names). */
function fieldPath(path: Path): string {
  let out = "";
  for (const p of path) {
    if (p.kind === "list_sub") out += `[${p.index}]`;
    else if (p.kind === "map_sub") out += `[${JSON.stringify(String(p.key))}]`;
    else {
      const name = p.kind === "extension" ? `[${p.typeName}]` : p.name;
      out += out === "" ? name : `.${name}`;
    }
  }
  return out;
}

export function describe(v: Violation): string {
  if (v.ruleId === "string.pattern" || v.ruleId === "string.pattern_empty") {
    const pattern = /`(.*)`$/.exec(v.message)?.[1] ?? "";
    return PATTERNS[pattern] ?? "is not in the expected format";
  }
  return v.message
    .replace(/^value (length )?/, "")
    .replace(/^must be at least 1 (characters|bytes|items)$/, "must not be empty")
    .replace(/ 1 (character|byte|item)s$/, " 1 $1");
}

export function fieldViolations(violations: Violation[]): FieldViolation[] {
  return violations.map((v) => ({ field: fieldPath(v.field), description: describe(v) }));
}

/** One step of a path: a name, then its list indexes or map keys. */
const STEP = /^(\.?)([A-Za-z_][A-Za-z0-9_]*)((?:\[(?:"(?:[^"\\]|\\.)*"|[0-9]+)\])*)/;

/**
 * A path of proto names ("media_ids[2]", "settings.is_private") in JSON names ("mediaIds[2]"),
 * following the fields of `msg`, the request's message; a step that names no field is kept.
 */
export function jsonFieldPath(msg: DescMessage | undefined, path: string): string {
  let out = "";
  for (let rest = path; rest !== ""; ) {
    const m = STEP.exec(rest);
    if (!m) return out + rest;
    const [step, dot, name, subs] = m as unknown as [string, string, string, string];
    const f = msg?.fields.find((x) => x.name === name);
    out += dot + (f ? f.jsonName : name) + subs;
    msg = f?.message;
    rest = rest.slice(step.length);
  }
  return out;
}
