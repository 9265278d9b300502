import { ApplicationFailure, TimeoutFailure, WorkflowFailedError, isGrpcServiceError } from '@temporalio/client';
import { z } from 'zod';
import { InvalidInputError } from '../contracts/transaction';
import { BatchFailedError } from '../contracts/batch';
import { FAILURE } from '../contracts/failures';

/**
 * What went wrong with a call through the SDK, sorted into the few cases a caller acts on differently.
 * The gateway turns these into HTTP statuses and the CLI into exit codes, so both agree.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export type ArgusFailure =
  | { kind: 'invalid_input'; message: string; issues: FieldIssue[] }
  | { kind: 'store_failed'; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'timed_out'; message: string }
  | { kind: 'workflow_failed'; message: string }
  | { kind: 'unexpected'; message: string };

/** Raised by `withDeadline` when a workflow result takes longer than the caller is willing to wait. */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
  constructor(readonly timeoutMs: number) {
    super(`no result within ${timeoutMs} ms`);
  }
}

/**
 * Waits for `work` at most `timeoutMs`. The workflow keeps running on Temporal; a caller who retries with
 * the same transaction id or idempotency key gets its result instead of a second scoring.
 */
export async function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

const issuesSchema = z.array(z.object({ field: z.string(), message: z.string() }));

export function* causeChain(err: unknown): Generator<unknown> {
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 16; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

/** The first ApplicationFailure of the given type anywhere in an error's cause chain. */
export function applicationFailureOf(err: unknown, type: string): ApplicationFailure | undefined {
  for (const link of causeChain(err)) if (link instanceof ApplicationFailure && link.type === type) return link;
  return undefined;
}

/** A worker's InvalidInput failure as the SDK's InvalidInputError, naming the fields it carried. */
export function invalidInputFrom(failure: ApplicationFailure): InvalidInputError {
  const details = issuesSchema.safeParse(failure.details?.[0]);
  return new InvalidInputError(details.success && details.data.length > 0 ? details.data : [{ field: '', message: failure.message }]);
}

function isConnectionProblem(err: unknown): boolean {
  if (isGrpcServiceError(err)) return err.code === GRPC_UNAVAILABLE || err.code === GRPC_DEADLINE_EXCEEDED;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') return true;
  // What Connection.connect throws when the server never answers within connectTimeout.
  return err.message === 'Failed to connect before the deadline';
}

export function classifyFailure(err: unknown): ArgusFailure {
  const chain = [...causeChain(err)];

  for (const link of chain) {
    if (link instanceof BatchFailedError) return link.badInput ? { kind: 'invalid_input', message: link.message, issues: [] } : { kind: 'workflow_failed', message: link.message };
    if (link instanceof InvalidInputError) return { kind: 'invalid_input', message: link.message, issues: link.issues };
    if (link instanceof ApplicationFailure && link.type === FAILURE.invalidInput) {
      return { kind: 'invalid_input', message: link.message, issues: invalidInputFrom(link).issues };
    }
    if (link instanceof ApplicationFailure && link.type === FAILURE.permanentStore) {
      return { kind: 'store_failed', message: link.message };
    }
  }

  if (chain.some((link) => link instanceof DeadlineExceededError)) {
    const timeout = chain.find((link): link is DeadlineExceededError => link instanceof DeadlineExceededError)!;
    return { kind: 'timed_out', message: `the workflow did not finish within ${timeout.timeoutMs / 1000}s` };
  }
  if (err instanceof WorkflowFailedError && chain.some((link) => link instanceof TimeoutFailure)) {
    return { kind: 'timed_out', message: 'the workflow timed out' };
  }
  if (chain.some(isConnectionProblem)) {
    return { kind: 'unavailable', message: 'Temporal is not reachable' };
  }
  if (err instanceof WorkflowFailedError) {
    const innermost = chain[chain.length - 1];
    return { kind: 'workflow_failed', message: innermost instanceof Error ? innermost.message : err.message };
  }
  return { kind: 'unexpected', message: err instanceof Error ? err.message : String(err) };
}
