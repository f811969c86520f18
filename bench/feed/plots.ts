// The cost curves of a run as SVG files (docs/bench/ after a full run).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { redisMemory } from "./baselines.js";
import type { celebrityCurve, fanoutCurve } from "./curves.js";
import { root, say } from "./proc.js";
import { linePlot } from "./svg.js";

export function plots(
  dir: string,
  fanout: Awaited<ReturnType<typeof fanoutCurve>>,
  celeb: Awaited<ReturnType<typeof celebrityCurve>>,
  memory: Awaited<ReturnType<typeof redisMemory>>,
) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "fanout-vs-followers.svg"),
    linePlot([{ name: "CreatePost response → in the last followers' feeds", points: fanout.map((f) => [f.followers, f.seconds * 1000]) }], {
      title: "Fan-out time vs follower count",
      xLabel: "followers of the author",
      yLabel: "fan-out time (ms)",
      xLog: true,
      yLog: true,
    }),
  );
  writeFileSync(
    path.join(dir, "feed-p99-vs-celebrities.svg"),
    linePlot(
      [
        { name: "p99", points: celeb.map((c) => [c.k, c.p99]) },
        { name: "p50", points: celeb.map((c) => [c.k, c.p50]) },
      ],
      { title: "GetHomeFeed latency vs celebrities followed", xLabel: "celebrities the reader follows", yLabel: "latency (ms)" },
    ),
  );
  writeFileSync(
    path.join(dir, "redis-memory-per-feed.svg"),
    linePlot(
      [
        { name: "filled feed (synthetic)", points: memory.synthetic },
        { name: "feeds cached in the run", points: [...memory.real].sort((a, b) => a[0] - b[0]) },
      ],
      { title: "Redis memory per cached feed (MEMORY USAGE)", xLabel: "entries in the cached feed", yLabel: "bytes" },
    ),
  );
  say(`plots: ${path.relative(root, dir) || dir}/{fanout-vs-followers,feed-p99-vs-celebrities,redis-memory-per-feed}.svg`);
}
