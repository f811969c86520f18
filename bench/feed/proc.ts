// Child processes and progress lines for bench/feed (the same conventions as bench/rpc/run.ts:
// one JSON result line per child, other lines pass through to stderr; every child killed on exit).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

export const root = path.resolve(import.meta.dirname, "../..");

export function say(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Progress of a counted job: a line every 2 s with the count, the share done and the rate. */
export function progress(what: string, total: number, unit: string) {
  const t0 = performance.now();
  let n = 0;
  let last = t0;
  const line = (final: boolean) => {
    const s = (performance.now() - t0) / 1000;
    say(
      `${what}: ${n.toLocaleString("en")}/${total.toLocaleString("en")} ${unit}${final ? " done" : ""} in ${s.toFixed(1)} s (${Math.round(n / Math.max(s, 1e-3)).toLocaleString("en")} ${unit}/s)`,
    );
  };
  return {
    add(k = 1) {
      n += k;
      const now = performance.now();
      if (now - last > 2000) {
        last = now;
        line(false);
      }
    },
    done(): number {
      line(true);
      return n / ((performance.now() - t0) / 1000);
    },
  };
}

const children = new Set<ChildProcess>();
export const killAll = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("exit", killAll);

export function spawnTs(file: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", path.resolve(import.meta.dirname, file), ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Lines a child prints: JSON lines with a wanted key resolve waiters; others go to stderr. */
export class Lines {
  private waiters: { key: string; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];

  constructor(
    child: ChildProcess,
    private readonly what: string,
  ) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const parsed = line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      const i = parsed ? this.waiters.findIndex((w) => w.key in parsed) : -1;
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(parsed);
      else process.stderr.write(`${line}\n`);
    });
    child.once("exit", (code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.what}: exited (${code}) without a result`));
    });
  }

  next<T>(key: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.what}: no "${key}" within ${timeoutMs / 1000} s`)), timeoutMs);
      this.waiters.push({
        key,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

/** User + system CPU of a process so far, in microseconds (Linux /proc; 0 elsewhere). */
export function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ = 100
  } catch {
    return 0;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
