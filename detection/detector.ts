import { z } from 'zod';
import { DetectorInputError, type Matrix, type MatrixInput, toMatrix } from './matrix';
import { decodeFloat64, encodeTyped } from './typed-json';

/**
 * The contract every detector honours, after PyOD's BaseDetector: fit on training data, score new
 * data (higher = more anomalous), a threshold taken from a contamination rate or set explicitly,
 * predict = score > threshold, and state that round-trips through JSON.
 */

export interface DetectorOptions {
  /** Expected share of anomalies in the training data, in (0, 0.5]. Sets the threshold after fit. */
  contamination?: number;
  /** An explicit threshold on the score; wins over contamination. */
  threshold?: number;
}

/** The wire form of DetectorOptions, spread into every detector's parameter schema. */
export const detectorOptionsShape = {
  contamination: z.number().gt(0).lte(0.5).optional(),
  threshold: z.number().finite().optional(),
};

export interface SerializedDetector<P = unknown> {
  kind: string;
  version: 1;
  params: P;
  /** Fitted state as plain JSON; null before fit. */
  state: unknown;
  threshold: number | null;
  trainedRows: number;
  dims: number;
  /** The training rows' scores (PyOD's decision_scores_), base64 float64; absent in models saved before they were kept. */
  trainingScores?: string;
}

export interface DetectorInfo {
  kind: string;
  params: unknown;
  trainedRows: number;
  dims: number;
  threshold: number | null;
}

export abstract class BaseDetector<P extends DetectorOptions = DetectorOptions, S = unknown> {
  abstract readonly kind: string;
  /** The fewest training rows the method can work with. */
  protected readonly minRows: number = 2;
  protected state: S | null = null;
  protected fittedThreshold: number | null = null;
  protected trainedRows = 0;
  protected dims = 0;
  /** Scores of the training rows, as PyOD keeps them in decision_scores_. */
  trainingScores: Float64Array | null = null;

  constructor(readonly params: P) {
    const c = params.contamination;
    if (c !== undefined && !(c > 0 && c <= 0.5)) throw new DetectorInputError(`contamination must be in (0, 0.5], got ${c}`, 'params.contamination');
  }

  /** Fits the model and sets the threshold from the training scores. */
  fit(input: MatrixInput): this {
    const X = toMatrix(input, 'training data');
    if (X.rows < this.minRows) {
      throw new DetectorInputError(`${this.kind} needs at least ${this.minRows} rows to fit, got ${X.rows}`);
    }
    this.state = this.fitState(X);
    this.trainedRows = X.rows;
    this.dims = X.cols;
    this.trainingScores = this.trainingScoresOf(X);
    this.fittedThreshold = this.params.threshold ?? quantile(this.trainingScores, 1 - (this.params.contamination ?? 0.1));
    return this;
  }

  /** Anomaly scores, higher = more anomalous. */
  score(input: MatrixInput): Float64Array {
    const state = this.requireFitted();
    const X = toMatrix(input);
    if (X.cols !== this.dims) {
      throw new DetectorInputError(`${this.kind} was fitted on ${this.dims} column(s), got ${X.cols}`);
    }
    return this.scoreState(state, X);
  }

  get threshold(): number {
    this.requireFitted();
    return this.fittedThreshold as number;
  }

  setThreshold(value: number): void {
    if (!Number.isFinite(value)) throw new DetectorInputError('threshold must be finite', 'threshold');
    this.requireFitted();
    this.fittedThreshold = value;
  }

  /** 1 where the score exceeds the threshold. */
  predict(input: MatrixInput): Uint8Array {
    const scores = this.score(input);
    const t = this.threshold;
    const out = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = scores[i] > t ? 1 : 0;
    return out;
  }

  get isFitted(): boolean {
    return this.state !== null;
  }

  info(): DetectorInfo {
    return { kind: this.kind, params: this.params, trainedRows: this.trainedRows, dims: this.dims, threshold: this.fittedThreshold };
  }

  toJSON(): SerializedDetector<P> {
    return {
      kind: this.kind,
      version: 1,
      params: this.params,
      state: this.state === null ? null : this.serializeState(this.state),
      threshold: this.fittedThreshold,
      trainedRows: this.trainedRows,
      dims: this.dims,
      ...(this.trainingScores ? { trainingScores: encodeTyped(this.trainingScores) } : {}),
    };
  }

  /** Restores fitted state produced by toJSON (used by loadDetector). */
  restore(json: SerializedDetector<P>): this {
    this.state = json.state === null || json.state === undefined ? null : this.deserializeState(json.state);
    this.fittedThreshold = json.threshold;
    this.trainedRows = json.trainedRows;
    this.dims = json.dims;
    this.trainingScores = typeof json.trainingScores === 'string' ? decodeFloat64(json.trainingScores, `${this.kind} trainingScores`) : null;
    if (this.trainingScores && this.trainingScores.length !== this.trainedRows) {
      throw new DetectorInputError(`${this.kind}: ${this.trainingScores.length} stored training scores for ${this.trainedRows} training rows`);
    }
    return this;
  }

  protected requireFitted(): S {
    if (this.state === null) throw new DetectorInputError(`${this.kind} is not fitted yet`);
    return this.state;
  }

  /** Training-row scores; detectors whose training scores differ from score(X) (e.g. leave-one-out) override. */
  protected trainingScoresOf(X: Matrix): Float64Array {
    return this.scoreState(this.state as S, X);
  }

  protected abstract fitState(X: Matrix): S;
  protected abstract scoreState(state: S, X: Matrix): Float64Array;
  /** Typed arrays do not survive JSON.stringify as arrays; detectors convert here. */
  protected serializeState(state: S): unknown {
    return state;
  }
  protected deserializeState(json: unknown): S {
    return json as S;
  }
}

/** Linear-interpolated quantile (numpy's default), q in [0, 1]. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  if (!sorted.length) throw new DetectorInputError('quantile of an empty set');
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
