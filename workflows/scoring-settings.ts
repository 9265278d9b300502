import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ScoringOverrideInput } from '../activities/transaction-activities';
import { STEP } from './step-options';

// One short store write, like the reads: a local activity inside the workflow task.
const steps = proxyLocalActivities<Activities>(STEP.read);

/** Sets (or, with null fields, removes) the scoring method and cold start of a user, a category or one (user, category). */
export async function setScoringMethod(override: ScoringOverrideInput): Promise<void> {
  await steps.setScoringMethod(override);
}
