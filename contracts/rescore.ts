import type { RescoreWindow } from '../activities/ports';

/** What a re-score run is asked to do; its windows end at its scheduled time unless windowEnd says. */
export interface RescoreInput {
  /** End of the score window (ISO-8601); default: the schedule's time for this run, or now. */
  windowEnd?: string;
  /** Days of history the baselines are computed from, before the score window. Default 90. */
  baselineDays?: number;
  /** Days re-scored, ending at windowEnd. Default 1. */
  scoreDays?: number;
  /** Let rows flagged as anomalies count in the recomputed baselines. Default false. */
  includeAnomalies?: boolean;
  /** Rows per page (one step). Default 5,000. */
  pageRows?: number;
}

const DAY_MS = 24 * 3600_000;

/** The windows and run key of a re-score: the same end and rules give the same key. */
export function rescoreWindow(input: RescoreInput, end: Date): RescoreWindow {
  const baselineDays = input.baselineDays ?? 90;
  const scoreDays = input.scoreDays ?? 1;
  const scoreFrom = new Date(end.getTime() - scoreDays * DAY_MS);
  const baselineFrom = new Date(scoreFrom.getTime() - baselineDays * DAY_MS);
  const excludeAnomalies = !input.includeAnomalies;
  return {
    runKey: `rescore-${end.toISOString()}-b${baselineDays}-s${scoreDays}${excludeAnomalies ? '' : '-all'}`,
    baselineFrom: baselineFrom.toISOString(),
    baselineTo: scoreFrom.toISOString(),
    scoreFrom: scoreFrom.toISOString(),
    scoreTo: end.toISOString(),
    excludeAnomalies,
  };
}

