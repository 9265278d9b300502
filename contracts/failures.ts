/**
 * The failure types Argus raises (ApplicationFailure.type), in one vocabulary shared by activities,
 * workflows, the SDK and the gateway. None of them is retried: a retry cannot cure them.
 */
export const FAILURE = {
  /** Bad input, naming the field (and for files, the line). */
  invalidInput: 'InvalidInput',
  /** A database error no retry can cure (a constraint, a missing table, a closed store). */
  permanentStore: 'PermanentStoreError',
  modelNotFound: 'ModelNotFound',
  /** A CSV batch that failed for good; it was compensated and its row says why. */
  batchFailed: 'BatchFailed',
  /** A model changed while a write to it ran: retried, the write reads the new version. */
  modelVersionConflict: 'ModelVersionConflict',
} as const;

export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** Failure types a step is never retried on. */
export const NON_RETRYABLE: FailureType[] = [FAILURE.invalidInput, FAILURE.permanentStore, FAILURE.modelNotFound, FAILURE.batchFailed];
