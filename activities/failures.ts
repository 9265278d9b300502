import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { InvalidInputError } from '../contracts/transaction';
import { FAILURE } from '../contracts/failures';

/** Bad input as a failure Temporal will not retry; details carry the {field, message} issues. */
export function invalidInput(error: InvalidInputError): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURE.invalidInput, message: error.message, nonRetryable: true, details: [error.issues] });
}

/**
 * Runs one store call of an activity step, sorting its failure: a transient database error is
 * rethrown as is, for Temporal to retry with backoff; anything else becomes a non-retryable
 * PermanentStoreError naming the step.
 */
export function storeGuard(isTransientStoreError: (err: unknown) => boolean) {
  return async function withStore<T>(step: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (isTransientStoreError(err)) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw ApplicationFailure.create({
        type: FAILURE.permanentStore,
        message: `${step} failed permanently: ${message}`,
        nonRetryable: true,
        cause: err instanceof Error ? err : undefined,
      });
    }
  };
}

/** Reports progress of a long activity; a no-op outside one (a direct call in a unit test or a benchmark). */
export function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not running as an activity
  }
}
