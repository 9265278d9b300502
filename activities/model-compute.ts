import type { DataMatrix, DetectedRow } from '../contracts/model';
import { InvalidInputError } from '../contracts/transaction';
import { type EngineLimits, type TrainedModel, asInvalidInput, detect, train, update } from './model-engine';
import type { ModelRecord } from './ports';

/**
 * The CPU-bound part of the model lifecycle as plain, cloneable tasks: what a model thread
 * (model-compute-thread.ts) runs, or the activity itself when no thread pool is given. No I/O here:
 * loading and saving stay with the activity, on the worker's event loop.
 */

export type ComputeTask =
  | { op: 'train'; kind: string; params: unknown; data: DataMatrix; limits: EngineLimits }
  | { op: 'update'; model: ModelRecord; data: DataMatrix; limits: EngineLimits }
  | { op: 'detect'; model: ModelRecord; data: DataMatrix };

export type ComputeResult<T extends ComputeTask> = T extends { op: 'detect' } ? DetectedRow[] : TrainedModel;

export function runComputeTask<T extends ComputeTask>(task: T): ComputeResult<T> {
  switch (task.op) {
    case 'train':
      return train(task.kind, task.params, task.data, task.limits) as ComputeResult<T>;
    case 'update':
      return update(task.model, task.data, task.limits) as ComputeResult<T>;
    case 'detect':
      return detect(task.model, task.data) as ComputeResult<T>;
    default:
      throw new Error(`unknown model compute task ${(task as { op: string }).op}`);
  }
}

/** An error as it crosses a thread boundary: bad input keeps its issues, anything else its name and message. */
export type WireError = { issues: { field: string; message: string }[] } | { name: string; message: string; stack?: string };

export function toWireError(error: unknown): WireError {
  const mapped = asInvalidInput(error);
  if (mapped instanceof InvalidInputError) return { issues: mapped.issues };
  if (mapped instanceof Error) return { name: mapped.name, message: mapped.message, stack: mapped.stack };
  return { name: 'Error', message: String(mapped) };
}

export function fromWireError(wire: WireError): Error {
  if ('issues' in wire) return new InvalidInputError(wire.issues);
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}
