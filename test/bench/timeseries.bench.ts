import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { detectChangePoints, detectEntireSeries, detectLastPoint } from '../../detection/timeseries/detect';
import { gaussianSource, seasonalSeries } from '../detection/synthetic-series';

/**
 * The time-series detector on a seeded seasonal series (period 24, trend, noise, 0.1% planted spikes):
 * entire-series detection on 1,000,000 points with the period given and with it detected, change points
 * on the same series, and last-point detection streamed over a sliding window. Each scenario runs in its
 * own process so its peak RSS (process.resourceUsage().maxRSS) is its own; each is warmed up on a smaller
 * series first, as a long-running worker would be. Prints figures only.
 *
 *   npx tsx test/bench/timeseries.bench.ts [points]
 */

const POINTS = Number(process.argv[2] && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 1_000_000);
const PERIOD = 24;
const STREAM_STEPS = 50_000;
const SCENARIOS = ['entire-period-given', 'entire-period-detected', 'change-points', 'last-point-stream'] as const;
type Scenario = (typeof SCENARIOS)[number];

function series(length: number): { values: Float64Array; planted: number } {
  const values = seasonalSeries({ length, period: PERIOD, seed: 20240611, level: 500, amplitude: 40, noise: 3, slope: 1e-4 });
  const normal = gaussianSource(7);
  let planted = 0;
  for (let i = 500; i < length; i += 1000) {
    values[i] += (normal() < 0 ? -1 : 1) * 40;
    planted++;
  }
  return { values, planted };
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(0);
}

function runScenario(scenario: Scenario): void {
  const { values, planted } = series(POINTS);
  const warm = values.subarray(0, 100_000);
  const rssBeforeKb = process.resourceUsage().maxRSS;
  let ms: number;
  let detail: string;
  let pointsScored = POINTS;
  if (scenario === 'entire-period-given' || scenario === 'entire-period-detected') {
    const options = scenario === 'entire-period-given' ? { period: PERIOD } : {};
    detectEntireSeries({ values: warm }, options);
    const t0 = performance.now();
    const result = detectEntireSeries({ values }, options);
    ms = performance.now() - t0;
    const flagged = result.isAnomaly.reduce((n, a) => n + (a ? 1 : 0), 0);
    detail = `period ${result.period}, ${flagged} flagged (${planted} planted)`;
  } else if (scenario === 'change-points') {
    detectChangePoints({ values: warm }, { period: PERIOD });
    const t0 = performance.now();
    const result = detectChangePoints({ values }, { period: PERIOD });
    ms = performance.now() - t0;
    detail = `${result.isChangePoint.filter(Boolean).length} change points`;
  } else {
    const window = detectLastPoint({ values: values.subarray(0, 10 * PERIOD + 1) }, { period: PERIOD }).suggestedWindow;
    for (let end = window; end < window + 2000; end++) detectLastPoint({ values: values.subarray(end - window, end) }, { period: PERIOD });
    let flagged = 0;
    const t0 = performance.now();
    for (let end = window; end < window + STREAM_STEPS; end++) {
      if (detectLastPoint({ values: values.subarray(end - window, end) }, { period: PERIOD }).isAnomaly) flagged++;
    }
    ms = performance.now() - t0;
    pointsScored = STREAM_STEPS;
    detail = `window ${window}, ${flagged} flagged of ${STREAM_STEPS} (≈${Math.round(STREAM_STEPS / 1000)} planted)`;
  }
  const peakKb = process.resourceUsage().maxRSS;
  const rate = (pointsScored / ms) * 1000;
  process.stdout.write(
    `${scenario.padEnd(24)} ${String(pointsScored).padStart(8)} pts  ${ms.toFixed(0).padStart(6)} ms  ` +
      `${Math.round(rate).toLocaleString('en-US').padStart(11)} pts/s  peak RSS ${mb(peakKb)} MB (${mb(rssBeforeKb)} MB after generating data)  ${detail}\n`,
  );
}

const child = process.argv.find((a) => a.startsWith('--scenario='));
if (child) {
  runScenario(child.slice('--scenario='.length) as Scenario);
} else {
  process.stdout.write(`time series, ${POINTS.toLocaleString('en-US')} points, period ${PERIOD}, node ${process.version}\n`);
  for (const scenario of SCENARIOS) {
    const result = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, String(POINTS), `--scenario=${scenario}`], { stdio: 'inherit' });
    if (result.status !== 0) process.exitCode = 1;
  }
}
