import { proxyLocalActivities } from '@temporalio/workflow';

/** Workflows that do nothing but Temporal's own work, to measure what a workflow costs before Argus adds any. */
const local = proxyLocalActivities<{ noop(): Promise<number> }>({ startToCloseTimeout: '10s' });

export async function emptyWorkflow(): Promise<number> {
  return 1;
}

export async function oneLocalActivity(): Promise<number> {
  return local.noop();
}

export async function threeLocalActivities(): Promise<number> {
  await local.noop();
  await local.noop();
  return local.noop();
}
