import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { STEP } from './step-options';
import type { ThresholdOverride } from '../activities/transaction-activities';

const steps = proxyLocalActivities<Activities>(STEP.baselineWrite);

export interface BaselineRow {
  userId: number;
  categoryId: number;
  mean: number;
  stdDev: number;
  sampleCount: number;
}

/** Imports baselines (the finance tracker's pickle migration, as a durable step). */
export async function importBaselines(rows: BaselineRow[]): Promise<{ imported: number }> {
  return { imported: await steps.setBaselines(rows) };
}

/** Sets or removes a z threshold for a user, a category, or one (user, category). */
export async function setThreshold(override: ThresholdOverride): Promise<void> {
  await steps.setThreshold(override);
}
