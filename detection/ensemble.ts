import { z } from 'zod';
import { BaseDetector, type DetectorOptions, quantile, type SerializedDetector, detectorOptionsShape } from './detector';
import { DetectorInputError, type Matrix } from './matrix';

/**
 * Several detectors voting on one score. Each member's scores are z-normalized against that member's
 * own training scores (PyOD's `standardizer`, i.e. sklearn StandardScaler: population std, and a scale
 * of 1 when the std is 0), then combined across members by `average` or `max` (PyOD's
 * combination.average / combination.maximization). The ensemble's own threshold comes from its
 * combined training scores and its contamination, like any detector's.
 *
 * The ensemble either fits its members itself (`fit`, members given as { kind, params }), or wraps
 * detectors already fitted on the same training data (`EnsembleDetector.fromFitted`).
 * Member construction and loading go through a factory passed in by the registry (detection/index.ts),
 * so this file does not import the registry that imports it.
 */

export const ensembleMemberSchema = z.object({ kind: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) });

export const ensembleParamsSchema = z
  .object({
    ...detectorOptionsShape,
    combination: z.enum(['average', 'max']).default('average'),
    members: z.array(ensembleMemberSchema).min(1, 'an ensemble needs at least one member'),
  })
  .strict();

export type EnsembleMemberSpec = { kind: string; params?: Record<string, unknown> };

export interface EnsembleParams extends DetectorOptions {
  combination?: 'average' | 'max';
  members: EnsembleMemberSpec[];
}

export interface DetectorFactory {
  create(kind: string, params: unknown): BaseDetector;
  load(json: unknown): BaseDetector;
}

interface EnsembleState {
  members: BaseDetector[];
  /** Per member: mean and scale of its training scores. */
  means: Float64Array;
  scales: Float64Array;
}

const stateSchema = z.object({
  members: z.array(z.unknown()).min(1),
  means: z.array(z.number()),
  scales: z.array(z.number().positive()),
});

export class EnsembleDetector extends BaseDetector<EnsembleParams, EnsembleState> {
  readonly kind = 'ensemble';

  constructor(params: EnsembleParams, private readonly factory: DetectorFactory) {
    super(params);
    if (!params.members?.length) throw new DetectorInputError('an ensemble needs at least one member', 'params.members');
    // Build each member once now so a bad kind or parameter fails at creation, not at the first fit.
    params.members.forEach((spec, index) => {
      try {
        factory.create(spec.kind, spec.params ?? {});
      } catch (error) {
        if (error instanceof DetectorInputError) {
          const member = `params.members[${index}]`;
          throw new DetectorInputError(`ensemble member ${index}: ${error.message}`, error.field === 'kind' ? `${member}.kind` : error.field.replace(/^params/, `${member}.params`));
        }
        throw error;
      }
    });
  }

  /**
   * Wraps members already fitted on the same training rows; their training scores (decision_scores_)
   * set the normalization and the ensemble's threshold. Members must come straight from fit(): a
   * restored detector no longer has its training scores.
   */
  static fromFitted(
    members: BaseDetector[],
    options: DetectorOptions & { combination?: 'average' | 'max' },
    factory: DetectorFactory,
  ): EnsembleDetector {
    if (!members.length) throw new DetectorInputError('an ensemble needs at least one member');
    const first = members[0];
    members.forEach((member, index) => {
      if (!member.isFitted || !member.trainingScores) {
        throw new DetectorInputError(`ensemble member ${index} (${member.kind}) must be freshly fitted: its training scores are needed`);
      }
      const info = member.info();
      const reference = first.info();
      if (info.dims !== reference.dims || info.trainedRows !== reference.trainedRows) {
        throw new DetectorInputError(
          `ensemble member ${index} (${member.kind}) was fitted on ${info.trainedRows}×${info.dims}, member 0 on ${reference.trainedRows}×${reference.dims}: all must share the training data`,
        );
      }
    });
    const specs = members.map((member) => ({ kind: member.kind, params: member.params as Record<string, unknown> }));
    const ensemble = new EnsembleDetector({ ...options, members: specs }, factory);
    ensemble.adoptMembers(members);
    return ensemble;
  }

  get members(): readonly BaseDetector[] {
    return this.requireFitted().members;
  }

  /** Each member's scores after z-normalization, member-major: [member][row]. */
  normalizedMemberScores(input: Parameters<BaseDetector['score']>[0]): Float64Array[] {
    const state = this.requireFitted();
    return state.members.map((member, j) => standardize(member.score(input), state.means[j], state.scales[j]));
  }

  protected fitState(X: Matrix): EnsembleState {
    const members = this.params.members.map((spec) => this.factory.create(spec.kind, spec.params ?? {}));
    for (const member of members) member.fit(X);
    return this.normalizationOf(members);
  }

  protected override trainingScoresOf(): Float64Array {
    const state = this.state as EnsembleState;
    return this.combine(state.members.map((member, j) => standardize(member.trainingScores as Float64Array, state.means[j], state.scales[j])));
  }

  protected scoreState(state: EnsembleState, X: Matrix): Float64Array {
    return this.combine(state.members.map((member, j) => standardize(member.score(X), state.means[j], state.scales[j])));
  }

  protected override serializeState(state: EnsembleState): unknown {
    return { members: state.members.map((member) => member.toJSON()), means: Array.from(state.means), scales: Array.from(state.scales) };
  }

  protected override deserializeState(json: unknown): EnsembleState {
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) throw new DetectorInputError(`invalid ensemble state: ${z.prettifyError(parsed.error)}`);
    const count = parsed.data.members.length;
    if (parsed.data.means.length !== count || parsed.data.scales.length !== count) {
      throw new DetectorInputError(`invalid ensemble state: means and scales need one value per member (${count})`);
    }
    const members = parsed.data.members.map((memberJson) => this.factory.load(memberJson as SerializedDetector));
    return { members, means: Float64Array.from(parsed.data.means), scales: Float64Array.from(parsed.data.scales) };
  }

  private adoptMembers(members: BaseDetector[]): void {
    const reference = members[0].info();
    this.state = this.normalizationOf(members);
    this.trainedRows = reference.trainedRows;
    this.dims = reference.dims;
    this.trainingScores = this.trainingScoresOf();
    this.fittedThreshold = this.params.threshold ?? quantile(this.trainingScores, 1 - (this.params.contamination ?? 0.1));
  }

  private normalizationOf(members: BaseDetector[]): EnsembleState {
    const means = new Float64Array(members.length);
    const scales = new Float64Array(members.length);
    members.forEach((member, j) => {
      const scores = member.trainingScores as Float64Array;
      let sum = 0;
      for (let i = 0; i < scores.length; i++) sum += scores[i];
      const mean = sum / scores.length;
      let squares = 0;
      for (let i = 0; i < scores.length; i++) squares += (scores[i] - mean) ** 2;
      const std = Math.sqrt(squares / scores.length);
      means[j] = mean;
      scales[j] = std > 0 ? std : 1;
    });
    return { members, means, scales };
  }

  private combine(normalized: Float64Array[]): Float64Array {
    const rows = normalized[0].length;
    const out = new Float64Array(rows);
    if ((this.params.combination ?? 'average') === 'max') {
      out.set(normalized[0]);
      for (let j = 1; j < normalized.length; j++) {
        const scores = normalized[j];
        for (let i = 0; i < rows; i++) if (scores[i] > out[i]) out[i] = scores[i];
      }
    } else {
      for (const scores of normalized) for (let i = 0; i < rows; i++) out[i] += scores[i];
      for (let i = 0; i < rows; i++) out[i] /= normalized.length;
    }
    return out;
  }
}

function standardize(scores: Float64Array, mean: number, scale: number): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = (scores[i] - mean) / scale;
  return out;
}
