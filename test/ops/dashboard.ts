import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/stack-process';

/** infra/grafana/argus-dashboard.json as the tests read it: its panels, and the PromQL each panel runs. */

export const DASHBOARD_PATH = path.join(REPO_ROOT, 'infra/grafana/argus-dashboard.json');

export interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
}

export function readDashboard(): Record<string, unknown> & { panels: DashboardPanel[] } {
  return JSON.parse(fs.readFileSync(DASHBOARD_PATH, 'utf8')) as Record<string, unknown> & { panels: DashboardPanel[] };
}

/** Every query, with Grafana's variables replaced by what Prometheus accepts. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return readDashboard()
    .panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })))
    .map(({ panel, expr }) => ({ panel, expr: expr.replace(/\$__rate_interval/g, '5m').replace(/\$process/g, '.*') }));
}

/** PromQL's own words, which look like metric names but are not. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'le']);

/**
 * The metric names a query reads: identifiers that are neither a function call, a label (inside braces or
 * after by/without), nor PromQL's own words. Histogram series keep their `_bucket` suffix.
 */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutSelectors = withoutStrings
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '')
    .replace(/(?<![\w:])\d+(\.\d+)?(e[-+]?\d+)?/gi, '0');
  const names = new Set<string>();
  for (const match of withoutSelectors.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const after = withoutSelectors.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(word)) continue;
    names.add(word);
  }
  return [...names];
}
