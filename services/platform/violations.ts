// The contract's validation failures (protovalidate) as the field violations a person reads: the
// field named as the client's encoding names it (JSON names for JSON clients, proto names for
// binary ones), and the rule said in words rather than as a regular expression or "at least 1
// characters".
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

/** A path as "media_ids[2]" (proto names) or "mediaIds[2]" (JSON names). */
export function fieldPath(path: Path, json: boolean): string {
  let out = "";
  for (const p of path) {
    if (p.kind === "list_sub") out += `[${p.index}]`;
    else if (p.kind === "map_sub") out += `[${JSON.stringify(String(p.key))}]`;
    else {
      const name = p.kind === "field" && json ? p.jsonName : p.kind === "extension" ? `[${p.typeName}]` : p.name;
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

export function fieldViolations(violations: Violation[], json: boolean): FieldViolation[] {
  return violations.map((v) => ({ field: fieldPath(v.field, json), description: describe(v) }));
}
