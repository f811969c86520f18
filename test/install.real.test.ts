// `make install` from a copy of the project's install inputs (package.json, the lock, patches/,
// the Makefile), on the PATH a new user has (the system's Node and npm, not the project's): it
// installs the locked Node 24 and runs npm itself on it, so npm prints no EBADENGINE warning
// however old the system's Node, and the lock comes out byte for byte as committed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const run = promisify(execFile);

describe("make install", () => {
  const dir = mkdtempSync(join(tmpdir(), "install-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("installs on the locked Node 24 without engine warnings and leaves the lock unchanged", async () => {
    for (const f of ["package.json", "package-lock.json", "Makefile", "patches"]) {
      cpSync(join(ROOT, f), join(dir, f), { recursive: true });
    }
    // The system's tools only: no node_modules/.bin of this project (npm test puts it first).
    const PATH = (process.env.PATH ?? "")
      .split(delimiter)
      .filter((p) => !p.includes("node_modules"))
      .join(delimiter);
    const out = await run("make", ["install"], { cwd: dir, env: { ...process.env, PATH }, timeout: 300_000 });
    const log = out.stdout + out.stderr;
    assert.doesNotMatch(log, /EBADENGINE/);
    assert.match(log, /added \d+ packages/);
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
    const node = await run(join(dir, "node_modules/.bin/node"), ["--version"]);
    assert.equal(node.stdout.trim(), `v${lock.packages["node_modules/node"].version}`);
    assert.equal(readFileSync(join(dir, "package-lock.json"), "utf8"), readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  });
});
