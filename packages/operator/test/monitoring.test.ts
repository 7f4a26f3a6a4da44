import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from '@jest/globals';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { parser } from '@prometheus-io/lezer-promql';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';

// ProxyMetrics is not part of @s3seal/proxy's public surface, so it is read from its source.
import { ProxyMetrics } from '../../proxy/src/metrics.js';
import { policyWithDefaults } from '../src/api/defaults.js';
import { CONDITION_READY } from '../src/api/conditions.js';
import { ANNOTATION_INJECT, ANNOTATION_POLICY, LABEL_INJECTED } from '../src/api/names.js';
import type { EncryptionPolicy } from '../src/api/types.js';
import { decideInjection } from '../src/inject/mutate-pod.js';
import { sidecarContainer } from '../src/inject/sidecar.js';
import { OperatorMetrics } from '../src/metrics.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MONITORING = path.join(repoRoot, 'manifests', 'monitoring');
const DEPLOYMENT = path.join(repoRoot, 'manifests', 'deployment.yaml');
const DASHBOARD_FILE = 'grafana-dashboard.json';
const SIDECAR_DEFAULTS = { image: 'ghcr.io/s3seal/proxy:0.1.0' };

const execFileAsync = promisify(execFile);

// Loose shapes: only what the assertions read.
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Target {
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
}
/** One PromQL expression and where it was found, for the test names. */
interface Expression {
  where: string;
  expr: string;
}

function parseYamlFile(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length > 0 || doc.warnings.length > 0) {
      throw new Error(`${file}: ${[...doc.errors, ...doc.warnings].map((e) => e.message).join('; ')}`);
    }
  }
  return docs.map((doc) => doc.toJSON() as Manifest);
}

function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
}

const yamlFiles = readdirSync(MONITORING).filter((f) => f.endsWith('.yaml'));
const sources = yamlFiles.flatMap((f) => parseYamlFile(path.join(MONITORING, f)));
const dashboard = JSON.parse(readFileSync(path.join(MONITORING, DASHBOARD_FILE), 'utf8')) as Dashboard;
const rule = find(sources, 'PrometheusRule', 's3seal') as unknown as IPrometheusRule;
const alerts = (rule.spec.groups ?? [])
  .flatMap((group) => group.rules ?? [])
  .filter((r) => r.alert !== undefined);

/** A policy as the apiserver stores it, Ready, so the webhook injects for it. */
function readyPolicy(): EncryptionPolicy {
  const policy = policyWithDefaults(
    { name: 'backups', namespace: 'db' },
    { upstream: { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } } },
  );
  policy.status = {
    conditions: [
      {
        type: CONDITION_READY,
        status: 'True',
        reason: 'Ready',
        message: 'ok',
        lastTransitionTime: '2026-11-22T00:00:00Z',
      },
    ],
  };
  return policy;
}

/** Every panel, rows' nested panels included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/**
 * What Grafana substitutes before the query reaches Prometheus. Its interval variables stand
 * where PromQL wants a duration; the dashboard's own variables only appear inside label matcher
 * strings, so they stay (a `$` left outside a string fails the parse).
 */
function interpolate(expr: string): string {
  return expr.replaceAll(/\$__(rate_interval|interval|range)\b/g, '5m');
}

/** The series selector inside `label_values(selector, label)`, the form the variables use. */
function labelValuesSelector(query: string): string {
  const match = /^label_values\((.+),\s*[a-zA-Z_]\w*\)$/.exec(query.trim());
  if (match?.[1] === undefined) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return match[1];
}

const expressions: Expression[] = [
  ...alerts.map((a) => ({ where: `alert ${a.alert}`, expr: String(a.expr) })),
  ...allPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((t, i) => ({
      where: `panel "${panel.title}" #${i}`,
      expr: interpolate(t.expr),
    })),
  ),
  ...dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({
      where: `variable $${v.name}`,
      expr: labelValuesSelector(typeof v.query === 'string' ? v.query : (v.query?.query ?? '')),
    })),
];

interface Selector {
  metric: string;
  /** Label matchers as written, e.g. `namespace=~"$namespace"`. */
  matchers: string[];
}

/** Parses with the Prometheus project's own grammar; throws on any error node. */
function parsePromQL(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const selectors: Selector[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) errors.push(ref.from);
      if (ref.name !== 'VectorSelector') return;
      const identifier = ref.node.getChild('Identifier');
      const matchers = ref.node.getChild('LabelMatchers');
      const all = matchers ? [...matchers.getChildren('UnquotedLabelMatcher')] : [];
      if (identifier === null) throw new Error(`a selector without a metric name in ${expr}`);
      selectors.push({
        metric: expr.slice(identifier.from, identifier.to),
        matchers: all.map((m) => expr.slice(m.from, m.to).replaceAll(/\s+/g, '')),
      });
    },
  });
  if (errors.length > 0) {
    throw new Error(
      `PromQL syntax error at ${errors.map((at) => `${at} (…${expr.slice(at, at + 20)})`).join(', ')} in ${expr}`,
    );
  }
  return selectors;
}

/** The series names a registry exposes: histograms as their _bucket, _sum and _count series. */
async function exposedNames(registry: Registry): Promise<string[]> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.flatMap((m) => {
    const type = String(m.type);
    if (type === 'histogram') return [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`];
    if (type === 'summary') return [m.name, `${m.name}_sum`, `${m.name}_count`];
    return [m.name];
  });
}

/** prom-client's process and Node.js metrics under a prefix: not s3seal's own. */
async function defaultNames(prefix: string): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return new Set(await exposedNames(registry));
}

describe('manifests/monitoring/', () => {
  let rendered: Manifest[];
  let known: Set<string>;
  /** s3seal's own series, without prom-client's defaults. */
  let own: string[];

  beforeAll(async () => {
    // kubectl missing fails the suite, as a missing tool should.
    const { stdout } = await execFileAsync('kubectl', ['kustomize', MONITORING], { maxBuffer: 16 << 20 });
    rendered = parseAllDocuments(stdout).map((doc) => doc.toJSON() as Manifest);
    const proxy = await exposedNames(new ProxyMetrics().registry);
    const operator = await exposedNames(new OperatorMetrics().registry);
    known = new Set([...proxy, ...operator]);
    const defaults = new Set([
      ...(await defaultNames('s3seal_proxy_')),
      ...(await defaultNames('s3seal_operator_')),
    ]);
    own = [...known].filter((name) => !defaults.has(name));
  });

  describe('kubectl kustomize', () => {
    it('renders the two PodMonitors, the PrometheusRule and the dashboard ConfigMap, in s3seal-system', () => {
      expect(rendered.map((m) => `${m.apiVersion} ${m.kind} ${m.metadata.name}`).sort()).toEqual(
        [
          'monitoring.coreos.com/v1 PodMonitor s3seal-operator',
          'monitoring.coreos.com/v1 PodMonitor s3seal-proxy',
          'monitoring.coreos.com/v1 PrometheusRule s3seal',
          'v1 ConfigMap s3seal-grafana-dashboard',
        ].sort(),
      );
      for (const m of rendered) expect(m.metadata.namespace).toBe('s3seal-system');
    });

    it('generates the dashboard ConfigMap from the JSON file, labelled for the Grafana sidecar', () => {
      const configMap = find(rendered, 'ConfigMap', 's3seal-grafana-dashboard') as Manifest & {
        data: Record<string, string>;
      };
      expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(Object.keys(configMap.data)).toEqual([DASHBOARD_FILE]);
      expect(JSON.parse(configMap.data[DASHBOARD_FILE]!)).toEqual(dashboard);
      // Client-side apply copies the object into its last-applied annotation, capped at 256 KiB.
      expect(Buffer.byteLength(configMap.data[DASHBOARD_FILE]!)).toBeLessThan(200 * 1024);
    });

    it('lists every YAML file of the folder, so none is silently left out', () => {
      const kustomization = sources.find((m) => m.kind === 'Kustomization') as
        (Manifest & { resources: string[] }) | undefined;
      expect([...(kustomization?.resources ?? []), 'kustomization.yaml'].sort()).toEqual(
        [...yamlFiles].sort(),
      );
    });
  });

  it("validates against the Prometheus Operator's schemas", () => {
    for (const m of rendered) {
      if (m.kind === 'PodMonitor') new PodMonitor(m as unknown as IPodMonitor).validate();
      if (m.kind === 'PrometheusRule') new PrometheusRule(m as unknown as IPrometheusRule).validate();
    }
  });

  describe('the proxy PodMonitor', () => {
    const monitor = find(sources, 'PodMonitor', 's3seal-proxy') as unknown as IPodMonitor;
    const endpoints = monitor.spec.podMetricsEndpoints ?? [];

    it(`selects injected pods in every namespace by ${LABEL_INJECTED}`, () => {
      expect(monitor.spec.namespaceSelector).toEqual({ any: true });
      expect(monitor.spec.selector).toEqual({ matchLabels: { [LABEL_INJECTED]: 'true' } });
    });

    it('selects exactly the label the webhook puts on the pods it injects', async () => {
      const decision = await decideInjection(
        {
          metadata: {
            name: 'app',
            annotations: { [ANNOTATION_INJECT]: 'true', [ANNOTATION_POLICY]: 'backups' },
          },
          spec: { containers: [{ name: 'app', image: 'app:1' }] },
        },
        'db',
        () => Promise.resolve(readyPolicy()),
        SIDECAR_DEFAULTS,
      );
      expect(decision.kind).toBe('inject');
      const patch = decision.kind === 'inject' ? decision.patch : [];
      const labels = patch.find((op) => op.path === '/metadata/labels');
      expect(labels).toMatchObject({ op: 'add', value: monitor.spec.selector.matchLabels });
    });

    it('scrapes /metrics on the port the sidecar builder names, the one its probes use', () => {
      const policy = readyPolicy();
      const sidecar = sidecarContainer(policy, SIDECAR_DEFAULTS);
      expect(endpoints).toHaveLength(1);
      expect(endpoints[0]).toMatchObject({ path: '/metrics', interval: '30s' });
      const port = sidecar.ports?.find((p) => p.name === endpoints[0]?.port);
      expect(port?.containerPort).toBe(policy.spec.sidecar.healthPort);
      expect(sidecar.readinessProbe?.httpGet?.port).toBe(port?.containerPort);
    });

    it("keeps namespace and pod, and adds the pod's policy from its annotation", () => {
      const relabelings = (endpoints[0]?.relabelings ?? []).map((r) => [r.sourceLabels, r.targetLabel]);
      // Prometheus turns each character of an annotation name that is not valid in a label into `_`.
      const annotation = `__meta_kubernetes_pod_annotation_${ANNOTATION_POLICY.replaceAll(/[^a-zA-Z0-9_]/g, '_')}`;
      expect(relabelings).toEqual(
        expect.arrayContaining([
          [['__meta_kubernetes_namespace'], 'namespace'],
          [['__meta_kubernetes_pod_name'], 'pod'],
          [[annotation], 'policy'],
        ]),
      );
    });
  });

  it("makes the operator PodMonitor scrape the Deployment's health port on its pods, keeping policy namespaces", () => {
    const monitor = find(sources, 'PodMonitor', 's3seal-operator') as unknown as IPodMonitor;
    const deployment = find(parseYamlFile(DEPLOYMENT), 'Deployment', 's3seal-operator') as Manifest & {
      spec: {
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            containers: { name: string; args: string[]; ports: { name: string; containerPort: number }[] }[];
          };
        };
      };
    };
    const container = deployment.spec.template.spec.containers.find((c) => c.name === 'operator');
    const endpoint = monitor.spec.podMetricsEndpoints?.[0];
    const port = container?.ports.find((p) => p.name === endpoint?.port);
    expect(port?.name).toBe('health');
    expect(container?.args).toContain(`--health-listen=0.0.0.0:${port?.containerPort}`);
    expect(endpoint).toMatchObject({ path: '/metrics', honorLabels: true });
    expect(deployment.spec.template.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels ?? {});
    expect(monitor.spec.namespaceSelector).toBeUndefined();
  });

  describe('PromQL', () => {
    it('finds the expressions of every alert and dashboard panel', () => {
      expect(alerts.length).toBeGreaterThanOrEqual(10);
      expect(expressions.filter((e) => e.where.startsWith('panel')).length).toBeGreaterThanOrEqual(20);
    });

    it.each(expressions)('$where parses and uses only metrics the proxy or operator registers', (e) => {
      const selectors = parsePromQL(e.expr);
      expect(selectors.length).toBeGreaterThan(0);
      for (const { metric } of selectors) expect([metric, known.has(metric)]).toEqual([metric, true]);
    });

    it('fails a syntax error and an unknown metric, so the checks above can fail', () => {
      expect(() => parsePromQL('sum by (namespace (rate(s3seal_proxy_requests_total[5m]))')).toThrow(
        'PromQL syntax error',
      );
      expect(() => parsePromQL('rate(s3seal_proxy_requests_total[5m] > 1')).toThrow('PromQL syntax error');
      expect(() => parsePromQL('nofunction(s3seal_proxy_requests_total)')).toThrow('PromQL syntax error');
      const [selector] = parsePromQL('rate(s3seal_proxy_request_total{status_class="5xx"}[5m])');
      expect(selector).toEqual({ metric: 's3seal_proxy_request_total', matchers: ['status_class="5xx"'] });
      expect(known.has(selector!.metric)).toBe(false);
    });

    it('charts every s3seal metric on the dashboard', () => {
      const charted = new Set(
        expressions
          .filter((e) => !e.where.startsWith('alert'))
          .flatMap((e) => parsePromQL(e.expr).map((s) => s.metric)),
      );
      // A histogram is charted through its buckets.
      const isHistogramTotal = (name: string): boolean =>
        /_(sum|count)$/.test(name) && known.has(name.replace(/_(sum|count)$/, '_bucket'));
      const required = own.filter((name) => !isHistogramTotal(name));
      expect(required.filter((name) => !charted.has(name))).toEqual([]);
    });
  });

  describe('alerts', () => {
    it.each(alerts)('$alert has a severity, a summary, a description and a for', (a) => {
      expect(['critical', 'warning']).toContain(a.labels?.severity);
      expect(a.annotations?.summary).toEqual(expect.stringMatching(/\S/));
      expect(a.annotations?.description?.length).toBeGreaterThan(80);
      expect(a.for).toMatch(/^\d+[smh]$/);
    });

    it('have distinct names', () => {
      const names = alerts.map((a) => a.alert);
      expect(new Set(names).size).toBe(names.length);
    });
  });

  describe('the dashboard', () => {
    const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');

    it('reads from the ${datasource} variable, with a namespace variable', () => {
      const variables = dashboard.templating.list;
      expect(variables.find((v) => v.name === 'datasource')).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
      });
      expect(variables.find((v) => v.name === 'namespace')).toMatchObject({ type: 'query' });
      for (const v of variables.filter((v) => v.type === 'query'))
        expect(v.datasource?.uid).toBe('${datasource}');
      for (const panel of panels) {
        expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, '${datasource}']);
        for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('${datasource}');
      }
    });

    it('filters every proxy query by the namespace variable', () => {
      const proxySelectors = panels
        .flatMap((p) => p.targets ?? [])
        .flatMap((t) => parsePromQL(interpolate(t.expr)))
        .filter((s) => s.metric.startsWith('s3seal_proxy_'));
      expect(proxySelectors.length).toBeGreaterThan(0);
      for (const s of proxySelectors) expect(s.matchers).toContain('namespace=~"$namespace"');
    });

    it('has unique panel ids and a fixed uid', () => {
      const ids = allPanels(dashboard.panels).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(dashboard.uid).toBe('s3seal-overview');
    });
  });
});
