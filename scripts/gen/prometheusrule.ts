// Renders deploy/prometheus/prometheusrule.yaml, the Prometheus Operator's form of the alert and
// recording rules, from deploy/prometheus/rules.yaml (the one hand-written source): the same
// groups, comments included, under a monitoring.coreos.com/v1 PrometheusRule. The Helm chart
// installs the rendered file; test/rules.real.test.ts fails when it is stale.
//
//   node --import tsx scripts/gen/prometheusrule.ts [--out FILE]   (default: the committed file)
import { readFileSync, writeFileSync } from "node:fs";
import { Document, isMap, isSeq, parseDocument } from "yaml";

const ROOT = new URL("../..", import.meta.url).pathname;
export const RULES_FILE = "deploy/prometheus/rules.yaml";
export const PROMETHEUS_RULE_FILE = "deploy/prometheus/prometheusrule.yaml";

const HEADER = [
  ` Generated from ${RULES_FILE} by scripts/gen/prometheusrule.ts; do not edit.`,
  " Regenerate: node --import tsx scripts/gen/prometheusrule.ts",
  " docs/observability.md#slos-and-alerts explains the rules and holds each alert's runbook.",
].join("\n");

// kube-prometheus-stack's Prometheus selects PrometheusRules by the label release=<its Helm
// release>, "prometheus" when installed under that name; other setups select differently.
const RELEASE_LABEL = " release: prometheus  # the label your Prometheus's ruleSelector wants (kube-prometheus-stack: its release's name)";

/** The PrometheusRule (YAML text) holding the rule groups of `rulesYaml` (a Prometheus rules file). */
export function renderPrometheusRule(rulesYaml: string): string {
  const rules = parseDocument(rulesYaml);
  if (rules.errors.length > 0) throw new Error(`${RULES_FILE}: ${rules.errors[0]!.message}`);
  const groups = rules.get("groups", true);
  if (!isSeq(groups) || groups.items.length === 0) throw new Error(`${RULES_FILE}: no groups`);
  const doc = new Document({
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "feedmesh", labels: { "app.kubernetes.io/name": "feedmesh", "app.kubernetes.io/part-of": "feedmesh" } },
    spec: { groups: [] },
  });
  doc.setIn(["spec", "groups"], groups);
  const labels = doc.getIn(["metadata", "labels"], true);
  if (isMap(labels)) labels.comment = RELEASE_LABEL;
  doc.commentBefore = HEADER;
  return doc.toString({ lineWidth: 0 });
}

export function renderFromRepo(): string {
  return renderPrometheusRule(readFileSync(`${ROOT}${RULES_FILE}`, "utf8"));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--out");
  const out = i > 0 ? process.argv[i + 1]! : `${ROOT}${PROMETHEUS_RULE_FILE}`;
  writeFileSync(out, renderFromRepo());
  console.error(`wrote ${out}`);
}
