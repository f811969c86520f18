// The SLOs' and alerts' Prometheus rules (deploy/prometheus/): promtool accepts rules.yaml and its
// unit tests (rules.test.yaml) pass; the PrometheusRule is what scripts/gen/prometheusrule.ts
// renders from rules.yaml; and the rules read only metrics the services export, with label values
// that exist (a renamed metric, RPC, target or consumer breaks this test, not the alerts in
// production). promtool comes from scripts/infra/promtool.sh (installed on first use).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { PROMETHEUS_RULE_FILE, RULES_FILE, renderFromRepo } from "../scripts/gen/prometheusrule.js";
import { SERVICES } from "../services/platform/clients.js";
import { TARGETS } from "../services/platform/config.js";

const ROOT = new URL("..", import.meta.url).pathname;
const TESTS_FILE = "deploy/prometheus/rules.test.yaml";
const DOC = "docs/observability.md";

/** The metrics the services export, by their Prometheus names (docs/observability.md). */
const HISTOGRAMS = [
  "rpc_server_duration_seconds",
  "feedmesh_event_consume_lag_seconds",
  "feedmesh_event_delivery_seconds",
  "feedmesh_outbox_relay_delay_seconds",
  "db_client_operation_duration_seconds",
];
const COUNTERS = ["feedmesh_event_processed_total", "feedmesh_feed_cache_requests_total"];
const GAUGES = [
  "feedmesh_kafka_consumer_lag",
  "feedmesh_outbox_backlog",
  "nodejs_eventloop_delay_p99_seconds",
  "v8js_memory_heap_used_bytes",
];
/** What Prometheus writes itself for every scrape. */
const SCRAPE = ["up"];
const SERIES = new Set([...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_count`, `${h}_sum`]), ...COUNTERS, ...GAUGES, ...SCRAPE]);

type Rule = {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
type Group = { name: string; rules: Rule[] };
type AlertTest = { alertname: string; eval_time: string; exp_alerts?: { exp_labels?: Record<string, string> }[] };
type UnitTest = { name: string; input_series: { series: string }[]; alert_rule_test?: AlertTest[] };

const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const groups = (): Group[] => parse(read(RULES_FILE)).groups;
const rules = () => groups().flatMap((g) => g.rules);
const alerts = () => rules().filter((r): r is Rule & { alert: string } => r.alert !== undefined);

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, out: `${stdout}${stderr}` });
    });
  });
}

/** The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * label lists, numbers and durations are gone, except functions, aggregations and keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/#.*$/gm, "")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const keywords = new Set([
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
  ]);
  const names = [...bare.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*(?![\w:]|\s*\()/g)].map((m) => m[0]);
  return [...new Set(names.filter((n) => !keywords.has(n.toLowerCase())))];
}

/** The values a label matcher `label="value"` (or =~) takes in an expression. */
function matched(expr: string, label: string): string[] {
  return [...expr.matchAll(new RegExp(`\\b${label}\\s*=~?\\s*"([^"]*)"`, "g"))].map((m) => m[1]!);
}

/** GitHub's anchor for a Markdown heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

describe("Prometheus rules (deploy/prometheus)", () => {
  let promtool = "";
  before(async () => {
    const r = await run("bash", ["scripts/infra/promtool.sh", "path"]);
    assert.equal(r.code, 0, `scripts/infra/promtool.sh path failed:\n${r.out}`);
    promtool = r.stdout.trim();
  });

  it("promtool check rules accepts rules.yaml", async () => {
    const r = await run(promtool, ["check", "rules", RULES_FILE]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${rules().length} rules found`), r.out);
  });

  it("promtool test rules: every burn-rate and plain alert fires and stays quiet as rules.test.yaml expects", async () => {
    const r = await run(promtool, ["test", "rules", TESTS_FILE]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/, r.out);
  });

  it("rules.test.yaml tests every alert rule both firing and quiet", () => {
    const tests: UnitTest[] = parse(read(TESTS_FILE)).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts()) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      const fired = mine.flatMap((c) => c.exp_alerts ?? []).map((e) => e.exp_labels ?? {});
      const id = `${a.alert}${a.labels?.long_window ? ` (${a.labels.long_window}/${a.labels.short_window})` : ""}`;
      assert.ok(
        fired.some((l) => Object.entries(a.labels ?? {}).every(([k, v]) => l[k] === v)),
        `${id} is never expected to fire in ${TESTS_FILE}`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${a.alert} is never expected to stay quiet in ${TESTS_FILE}`,
      );
    }
  });

  it("prometheusrule.yaml is what scripts/gen/prometheusrule.ts renders from rules.yaml", () => {
    const rendered = renderFromRepo();
    assert.ok(
      read(PROMETHEUS_RULE_FILE) === rendered,
      `${PROMETHEUS_RULE_FILE} is stale: run node --import tsx scripts/gen/prometheusrule.ts and commit the result`,
    );
    const rule = parse(rendered);
    assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(rule.kind, "PrometheusRule");
    assert.equal(rule.metadata.name, "feedmesh");
    assert.deepEqual(rule.spec.groups, groups());
  });

  it("reads only metrics the services export (and the recording rules it defines)", () => {
    const recorded = new Set(rules().flatMap((r) => (r.record ? [r.record] : [])));
    for (const r of rules()) {
      for (const name of metricNames(r.expr)) {
        const known = name.includes(":") ? recorded.has(name) : SERIES.has(name);
        assert.ok(known, `${r.record ?? r.alert} reads ${name}, which is neither exported by the services nor recorded in ${RULES_FILE}`);
      }
    }
    // the unit tests' input series are real names too, or they test nothing
    const tests: UnitTest[] = parse(read(TESTS_FILE)).tests;
    for (const s of tests.flatMap((t) => t.input_series)) {
      const name = s.series.split("{")[0]!.trim();
      assert.ok(SERIES.has(name), `${TESTS_FILE} feeds ${name}, which the services do not export`);
    }
  });

  it("selects label values that exist: the RPC, the targets as jobs, the consumer groups and topics", () => {
    const exprs = rules().map((r) => r.expr);
    // rpc_service + rpc_method: a service of the contracts and one of its methods
    const services = Object.values(SERVICES);
    for (const e of exprs) {
      for (const name of matched(e, "rpc_service")) {
        const svc = services.find((s) => s.typeName === name);
        assert.ok(svc, `rpc_service="${name}" is no service of the contracts`);
        for (const m of matched(e, "rpc_method")) {
          assert.ok(
            svc.methods.some((d) => d.name === m),
            `rpc_method="${m}" is no method of ${name}`,
          );
        }
      }
    }
    // the job regex of FeedmeshTargetDown: exactly the targets
    const down = alerts().find((a) => a.alert === "FeedmeshTargetDown");
    assert.ok(down, "no FeedmeshTargetDown alert");
    const [jobs] = matched(down.expr, "job");
    assert.ok(jobs, "FeedmeshTargetDown selects no job");
    const re = new RegExp(`^(?:${jobs})$`);
    for (const t of TARGETS) assert.match(t, re, `FeedmeshTargetDown's job=~"${jobs}" misses the target ${t}`);
    for (const j of jobs.split("|")) assert.ok((TARGETS as readonly string[]).includes(j), `FeedmeshTargetDown's job ${j} is no target`);
    // consumer groups and topics: some service subscribes that group (to that topic)
    const subscriptions = new Set<string>();
    for (const f of readdirSync(join(ROOT, "services"), { recursive: true, encoding: "utf8" })) {
      if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
      for (const m of read(join("services", f)).matchAll(/\.subscribe\(\s*"([^"]+)",\s*"([^"]+)"/g)) {
        subscriptions.add(`${m[1]}`).add(`${m[1]} ${m[2]}`);
      }
    }
    assert.ok(subscriptions.size > 0, "found no bus.subscribe(group, topic) in services/");
    for (const e of exprs) {
      for (const selector of e.match(/\{[^}]*\}/g) ?? []) {
        const [group] = matched(selector, "messaging_consumer_group_name");
        const [topic] = matched(selector, "messaging_destination_name");
        if (group === undefined) continue;
        const key = topic === undefined ? group : `${group} ${topic}`;
        assert.ok(subscriptions.has(key), `${selector}: no service subscribes ${key.replace(" ", " to ")}`);
      }
    }
  });

  it("every alert has a severity, a summary, a description and a runbook in docs/observability.md", () => {
    const anchors = new Set([...read(DOC).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1]!)));
    for (const a of alerts()) {
      assert.ok(["critical", "warning"].includes(a.labels?.severity ?? ""), `${a.alert}: severity is critical (page) or warning (ticket)`);
      assert.ok(a.annotations?.summary && a.annotations.description, `${a.alert}: a summary and a description`);
      const url = a.annotations.runbook_url ?? "";
      const anchor = url.match(/^docs\/observability\.md#(.+)$/)?.[1];
      assert.ok(anchor, `${a.alert}: runbook_url ${url || "(none)"} is not docs/observability.md#<anchor>`);
      assert.ok(anchors.has(anchor), `${a.alert}: ${DOC} has no heading with the anchor #${anchor}`);
    }
  });
});
