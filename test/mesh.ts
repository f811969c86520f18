// The microservices mode for tests: targets started as their own processes (bin/feedmesh, as
// scripts/mesh.sh and Kubernetes run them) on free loopback ports, each knowing the others' gRPC
// addresses; start, kill and start again one at a time.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "./edge.js";
import { eventually } from "./harness.js";

const BIN = new URL("../bin/feedmesh", import.meta.url).pathname;

export interface Ports {
  http: number;
  grpc: number;
}

export class Mesh<T extends string> {
  readonly ports = new Map<T, Ports>();
  private readonly procs = new Map<T, { child: ChildProcess; log: () => string }>();

  private constructor(
    readonly targets: readonly T[],
    readonly env: Record<string, string>,
  ) {}

  /** Starts every target (identity first: it makes the signing key the others fetch). */
  static async start<T extends string>(targets: readonly T[], env: Record<string, string>): Promise<Mesh<T>> {
    const mesh = new Mesh(targets, { ...env });
    for (const t of targets) mesh.ports.set(t, { http: await freePort(), grpc: await freePort() });
    for (const t of targets) if (t !== "fanout") mesh.env[`FEEDMESH_${t.toUpperCase()}_ADDR`] = `127.0.0.1:${mesh.ports.get(t)!.grpc}`;
    const first = targets.filter((t) => t === "identity");
    for (const t of first) await mesh.start(t);
    await Promise.all(targets.filter((t) => t !== "identity").map((t) => mesh.start(t)));
    return mesh;
  }

  /** Starts one target and waits for its ready line. */
  async start(t: T): Promise<void> {
    const p = this.ports.get(t)!;
    let out = "";
    const child = spawn(BIN, [`--target=${t}`], {
      env: { ...process.env, ...this.env, FEEDMESH_HTTP_ADDR: `127.0.0.1:${p.http}`, FEEDMESH_GRPC_ADDR: `127.0.0.1:${p.grpc}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    this.procs.set(t, { child, log: () => out });
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`${t} exited:\n${out}`);
      assert.match(out, /feedmesh is ready/);
    }, 90_000).catch((err) => {
      throw new Error(`${t} did not start: ${err.message}\n${out.slice(-3000)}`);
    });
  }

  /** A target's output so far. */
  log(t: T): string {
    return this.procs.get(t)?.log() ?? "";
  }

  async kill(t: T, signal: NodeJS.Signals): Promise<void> {
    const p = this.procs.get(t);
    if (!p || p.child.exitCode !== null) return;
    const exited = once(p.child, "exit");
    p.child.kill(signal);
    await exited;
  }

  stop(): Promise<void> {
    return Promise.all(this.targets.map((t) => this.kill(t, "SIGTERM"))).then(() => undefined);
  }
}
