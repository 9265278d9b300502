import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARGUS_SERIES } from '../../infra/metrics/names';
import { REPO_ROOT } from '../support/stack-process';
import { type DashboardPanel, dashboardQueries, metricNames, readDashboard } from './dashboard';

/**
 * The scrape config and rules in infra/prometheus, checked by Prometheus's own promtool (Debian's
 * `prometheus` package; infra/setup/ensure-tools.ts installs it), and the Grafana dashboard's structure and
 * PromQL. That the dashboard asks only for series a process really exposes is checked against live
 * processes in metrics.test.ts.
 */
describe('metrics config: Prometheus scrape config, rules and the Grafana dashboard', function () {
  this.timeout(60_000);
  const prometheusDir = path.join(REPO_ROOT, 'infra/prometheus');

  function promtool(args: string[], cwd = prometheusDir): { status: number | null; output: string } {
    const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
    if (run.error) assert.fail(`promtool is not installed (${run.error.message}): run \`npx tsx infra/setup/ensure-tools.ts\` or \`apt-get install -y prometheus\``);
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it('promtool check config: the scrape config and the rule files it names are valid', () => {
    const run = promtool(['check', 'config', 'prometheus.yml']);
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /SUCCESS: 1 rule files found/);
  });

  it('promtool test rules: the planted series raise exactly the expected alerts and ratios', () => {
    const run = promtool(['test', 'rules', 'argus-rules.test.yml']);
    assert.equal(run.status, 0, run.output);
  });

  it('promtool test rules fails when a rule is broken, so the check above can fail', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-rules-'));
    try {
      // The anomaly ratio counting the unscored too: 10 / 600 instead of 10 / 100.
      const broken = fs.readFileSync(path.join(prometheusDir, 'argus-rules.yml'), 'utf8').replace('result=~"normal|anomaly"', 'result=~"normal|anomaly|unscored"');
      fs.writeFileSync(path.join(dir, 'argus-rules.yml'), broken);
      fs.copyFileSync(path.join(prometheusDir, 'argus-rules.test.yml'), path.join(dir, 'argus-rules.test.yml'));
      const run = promtool(['test', 'rules', 'argus-rules.test.yml'], dir);
      assert.notEqual(run.status, 0, run.output);
      assert.match(run.output, /argus:anomaly_ratio:rate5m/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the dashboard is a Grafana dashboard: title, uid, schema version, a Prometheus data-source variable, panels on the 24-column grid without overlaps', () => {
    const dashboard = readDashboard();
    assert.equal(typeof dashboard.title, 'string');
    assert.match(String(dashboard.uid), /^[a-zA-Z0-9_-]{1,40}$/);
    assert.ok(Number.isInteger(dashboard.schemaVersion) && (dashboard.schemaVersion as number) >= 36, 'schemaVersion');
    const variables = (dashboard.templating as { list: { name: string; type: string; query: unknown }[] }).list;
    assert.ok(variables.some((v) => v.name === 'datasource' && v.type === 'datasource' && v.query === 'prometheus'), 'a Prometheus data-source variable');
    const ids = new Set<number>();
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      assert.ok(Number.isInteger(panel.id) && !ids.has(panel.id), `panel id ${panel.id} unique`);
      ids.add(panel.id);
      assert.ok(['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge'].includes(panel.type), `${panel.title}: type ${panel.type}`);
      const { h, w, x, y } = panel.gridPos;
      assert.ok([h, w, x, y].every(Number.isInteger) && w >= 1 && h >= 1 && x >= 0 && x + w <= 24 && y >= 0, `${panel.title}: gridPos ${JSON.stringify(panel.gridPos)}`);
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const taken = cells.get(`${row},${col}`);
          assert.equal(taken, undefined, `${panel.title} overlaps ${taken}`);
          cells.set(`${row},${col}`, panel.title);
        }
      }
      if (panel.type === 'row') continue;
      assertQueryPanel(panel);
    }
  });

  it("every dashboard query is valid PromQL (promtool checks each as a recording rule) and reads only Argus's or the SDK's series", () => {
    const queries = dashboardQueries();
    assert.ok(queries.length >= 20, `${queries.length} queries`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dashboard-'));
    try {
      const rules = queries.map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(q.expr)}`).join('\n');
      fs.writeFileSync(path.join(dir, 'queries.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const run = promtool(['check', 'rules', 'queries.yml'], dir);
      assert.equal(run.status, 0, run.output);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Argus's series by their names in infra/metrics/names.ts (a histogram's as _bucket); the SDK's are checked live.
    const known = new Set(Object.values(ARGUS_SERIES).flatMap((name) => [name, `${name}_bucket`]));
    for (const { panel, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${panel}: no metric in ${expr}`);
      for (const name of names) {
        if (name.startsWith('temporal_')) continue;
        assert.ok(known.has(name), `${panel}: ${name} is not one of Argus's series`);
      }
    }
  });

  it('the metric-name reader finds the series of a query and nothing else', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, source) (rate(argus_persist_duration_seconds_bucket{argus_process=~".*", x="a_b"}[5m]))) / clamp_min(sum(up), 1e-9)'),
      ['argus_persist_duration_seconds_bucket', 'up'],
    );
  });
});

function assertQueryPanel(panel: DashboardPanel): void {
  assert.equal(panel.datasource?.type, 'prometheus', `${panel.title}: data source`);
  assert.equal(panel.datasource?.uid, '${datasource}', `${panel.title}: the data-source variable`);
  assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: no query`);
  const refIds = new Set<string>();
  for (const target of panel.targets) {
    assert.ok(/^[A-Z]$/.test(target.refId) && !refIds.has(target.refId), `${panel.title}: refId ${target.refId}`);
    refIds.add(target.refId);
    assert.ok(typeof target.expr === 'string' && target.expr.trim() !== '', `${panel.title}: empty expr`);
  }
}
