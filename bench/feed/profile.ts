// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by package or
// project file, the top entries, so a report can say where the time goes.
//   node --import tsx bench/feed/profile.ts <file.cpuprofile> [top] [calls in the profiled window]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/(deps\/)?/, "node:").replace(/\/.*$/, "");
  const s = /\/(services|bench|gen)\/(.*)$/.exec(url);
  return s ? `${s[1]}/${s[2]}` : url;
};

/**
 * Two views of where the samples went (idle excluded): each sample's time charged to the nearest
 * frame with a source file (so native work such as WebCrypto's SignJob or socket writes counts
 * for the package that asked for it), by package; and the inclusive time of the project's own
 * functions (services/, bench/): the share of samples with that function on the stack.
 */
export function summarize(file: string, top = 25, calls = 0, unit = "call"): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const pkg = new Map<string, number>();
  const incl = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === "(idle)") {
      idle += us;
      return;
    }
    // The profiler's own work (starting and stopping it through node:inspector) is not the server's.
    for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) if (n.callFrame.url === "node:inspector") return;
    busy += us;
    let charged: string | undefined;
    const seen = new Set<string>();
    for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const url = n.callFrame.url;
      if (!charged && url) charged = where(url);
      if (/\/(services|bench)\//.test(url) && !/node_modules/.test(url)) {
        const name = `${n.callFrame.functionName || "(anonymous)"} (${where(url)}:${n.callFrame.lineNumber + 1})`;
        if (!seen.has(name)) {
          seen.add(name);
          incl.set(name, (incl.get(name) ?? 0) + us);
        }
      }
    }
    const group = charged ?? leaf.callFrame.functionName;
    pkg.set(group, (pkg.get(group) ?? 0) + us);
  });
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) =>
          `  ${((100 * us) / busy).toFixed(1).padStart(5)}%${calls > 0 ? `  ${(us / calls / 1000).toFixed(2).padStart(5)} ms/${unit}` : ""}  ${k}`,
      )
      .join("\n");
  return (
    `${(busy / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle on the main thread` +
    (calls > 0 ? `; ${(busy / calls / 1000).toFixed(2)} ms of main thread per ${unit} (about ${+calls.toPrecision(3)} of them)\n` : "\n") +
    `self time by package (native work charged to its caller):\n${fmt(pkg)}\n` +
    `inclusive time of the project's functions:\n${fmt(incl)}`
  );
}

if (import.meta.filename === process.argv[1]) {
  process.stdout.write(`${summarize(process.argv[2]!, Number(process.argv[3] ?? 25), Number(process.argv[4] ?? 0))}\n`);
}
