// make up's supervision (scripts/mesh.sh): a target that dies, even by SIGKILL, is started again
// by its supervisor with backoff, as Kubernetes restarts a container; `mesh.sh stop` stops it for
// good. One target (identity) on the real backends, in a MESH_HOME of its own, no edge.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const HEALTH = "http://127.0.0.1:8100/healthz"; // identity's HTTP port in mesh.sh

describe("make up's supervisor", () => {
  const home = mkdtempSync(join(tmpdir(), "mesh-"));
  const env = { ...process.env, MESH_HOME: home, MESH_EDGE: "0" };
  const mesh = (...args: string[]) => promisify(execFile)("bash", [join(ROOT, "scripts/mesh.sh"), ...args], { env, timeout: 120_000 });
  const pid = () => {
    try {
      return Number(readFileSync(join(home, "run/identity.pid"), "utf8"));
    } catch {
      return 0;
    }
  };
  const healthy = () =>
    fetch(HEALTH, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; log:\n${readFileSync(join(home, "logs/identity.log"), "utf8").slice(-3000)}`);
      await sleep(200);
    }
  };
  after(async () => {
    await mesh("stop").catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  it("starts a target killed with SIGKILL again, and stop stops it for good", async () => {
    await mesh("restart", "identity");
    await until("identity healthy", healthy);
    const first = pid();
    assert.ok(first > 0);
    process.kill(first, "SIGKILL");
    await until("a new identity process", () => pid() > 0 && pid() !== first);
    await until("identity healthy again", healthy);
    assert.match(readFileSync(join(home, "logs/identity.log"), "utf8"), /identity exited with status 137; starting it again in 1 s/);
    await mesh("stop");
    assert.equal(pid(), 0, "no pid file once stopped");
    await sleep(2500); // longer than the first backoff: nothing starts it again
    assert.equal(await healthy(), false, "stopped for good");
  });
});
