import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectRawSocket, nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

// The monitoring profile's files against what the nodes really export: a dashboard panel
// querying a metric no node exports (renamed, or never there) stays empty without a word.
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const DASHBOARD_PATH = 'deploy/grafana/dashboards/unimal-nodes.json';

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ definition?: string; datasource?: { uid?: string } }> };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Words of PromQL that are neither functions (followed by a parenthesis) nor metrics. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool']);
const KEYWORDS_OPERATORS = new Set(['and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression (or a Grafana `label_values(...)` query) selects. */
function queriedMetrics(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values, which may hold anything
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges, $__rate_interval among them
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\w+/g, ' ') // Grafana variables outside matchers
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' '); // numbers
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][\w:]*(?=\s*(\()?)/g)) {
    const [word, call] = [m[0], m[1]];
    if (call || KEYWORDS.has(word) || KEYWORDS_OPERATORS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Metric families declared by an exposition, name → type, from its `# TYPE` lines. */
function declaredFamilies(exposition: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
  return families;
}

/** The queried names no declared family provides (a histogram provides _bucket/_sum/_count). */
function notExported(queried: string[], families: Map<string, string>): string[] {
  return queried.filter((name) => {
    if (families.has(name)) return false;
    const suffix = /_(bucket|sum|count)$/.exec(name);
    if (!suffix) return true;
    const type = families.get(name.slice(0, suffix.index));
    return !(type === 'histogram' || (type === 'summary' && suffix[1] !== 'bucket'));
  });
}

const dashboard = JSON.parse(read(DASHBOARD_PATH)) as Dashboard;
const panels = allPanels(dashboard.panels).filter((p) => p.targets);
const expressions = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
  ...dashboard.templating.list.map((v) => v.definition ?? ''),
];
const dashboardMetrics = [...new Set(expressions.flatMap(queriedMetrics))].sort();

describe('queriedMetrics', () => {
  it('finds the metrics of an expression, not its functions, labels, ranges or variables', () => {
    expect(
      queriedMetrics(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job", status=~"5.."}[$__rate_interval])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      queriedMetrics(
        'sum by (kind) (rate(a_total{outcome="hit"}[5m])) / sum by (kind) (rate(b_total[5m])) or vector(0)',
      ),
    ).toEqual(['a_total', 'b_total']);
    expect(
      queriedMetrics('label_values(process_start_time_seconds{job=~"$job"}, instance)'),
    ).toEqual(['process_start_time_seconds']);
  });

  it('tells a metric no family declares from a histogram series', () => {
    const families = new Map([
      ['http_request_duration_seconds', 'histogram'],
      ['stream_messages_total', 'counter'],
    ]);
    const queried = queriedMetrics(
      'rate(http_request_duration_seconds_count[5m]) + rate(stream_messages_total[5m]) + rate(made_up_total{a="b"}[5m]) + stream_messages_total_bucket',
    );
    expect(notExported(queried, families)).toEqual([
      'made_up_total',
      'stream_messages_total_bucket',
    ]);
  });
});

describe('the Grafana dashboard', () => {
  const cluster = useInProcessNodes();

  it('queries only metrics a node with every role exports at /metrics', async () => {
    const node = await cluster.start('server,gateway,workers');
    // Samples for the labelled families; the check reads the `# TYPE` lines, there either way.
    await fetch(`${nodeUrl(node)}/healthz`);
    const { socket, outcome } = connectRawSocket(nodeUrl(node), {});
    await outcome;
    socket.close();
    const exposition = await (await fetch(`${nodeUrl(node)}/metrics`)).text();
    const families = declaredFamilies(exposition);
    expect(families.get('http_request_duration_seconds')).toBe('histogram');

    expect(dashboardMetrics.length).toBeGreaterThan(10);
    expect(notExported(dashboardMetrics, families)).toEqual([]);
  });

  it('reads every panel and variable from the provisioned Prometheus data source', () => {
    const uid = /^\s+uid:\s*(\S+)$/m.exec(
      read('deploy/grafana/provisioning/datasources/prometheus.yml'),
    );
    expect(uid?.[1]).toBe('unimal-prometheus');
    const used = [
      ...panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
      ...dashboard.templating.list.map((v) => v.datasource),
    ].map((d) => d?.uid);
    expect(new Set(used)).toEqual(new Set([uid?.[1]]));
  });
});

describe('the Prometheus configuration', () => {
  it("scrapes every node service of docker-compose.yml on its port, under its role's job", () => {
    // Service blocks: a two-space-indented name, then its body up to the next such name.
    const compose = read('docker-compose.yml');
    const nodes = [...compose.matchAll(/^ {2}([\w-]+):\n((?: {3,}.*\n|\n)*)/gm)].flatMap((m) => {
      const role = /^ +ROLES: (\S+)$/m.exec(m[2]!)?.[1];
      return role ? [`${role} ${m[1]}:3000`] : [];
    });
    expect(nodes.length).toBeGreaterThanOrEqual(6);

    const scraped = read('deploy/prometheus/prometheus.yml')
      .split(/^ {2}- job_name: /m)
      .slice(1)
      .flatMap((job) => {
        const name = job.split('\n')[0]!.trim();
        return [...job.matchAll(/"([\w-]+:\d+)"/g)].map((t) => `${name} ${t[1]}`);
      });
    expect(scraped.sort()).toEqual(nodes.sort());
  });
});
