import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InvalidInputError, issuesOf } from '../../contracts/transaction';
import type { ArgusClient } from '../argus-client';
import { errorResponseJsonSchema, API_KEY_SECURITY } from './schemas';

/**
 * PUT /api/scoring-settings: the spending score of a user, a category or one (user, category), as
 * `argus scoring set|clear` and the SDK's setScoringMethod set it. Registered inside the gateway's
 * authenticated scope.
 */

export type ScoringSettingsApi = Pick<ArgusClient, 'setScoringMethod'>;

export const SCORING_SETTINGS_PATH = '/api/scoring-settings';

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const scoringSettingsRequestSchema = z
  .object({
    user_id: id.optional(),
    category_id: id.optional(),
    method: z.enum(['zscore', 'log-z', 'robust-z']).nullable().describe('null removes the method of this scope'),
    cold_start: z.boolean().nullable().describe("score a pair's first transactions against its category's baseline; null removes it"),
  })
  .strict()
  .refine((b) => b.user_id !== undefined || b.category_id !== undefined, { message: 'name user_id, category_id or both', path: ['user_id'] });

const OPENAPI = { target: 'openapi-3.0' } as const;
const requestJsonSchema = z.toJSONSchema(scoringSettingsRequestSchema, { ...OPENAPI, io: 'input' });

export async function scoringRoutes(app: FastifyInstance, options: { scoring: ScoringSettingsApi; secured?: boolean }): Promise<void> {
  app.put(
    SCORING_SETTINGS_PATH,
    {
      schema: {
        operationId: 'setScoringSettings',
        summary: 'Set the spending score of a user, a category or one (user, category)',
        description:
          'method: zscore (the seed rule), log-z (z-score of ln amount) or robust-z (median / MAD over the recent amounts); cold_start: a pair with too few amounts is scored against its category over all users. null removes a field of this scope, so the wider scope (or ARGUS_SCORING_METHOD / ARGUS_COLD_START) decides; per field the most specific scope wins. Answers with the setting as stored.',
        body: requestJsonSchema,
        response: { 200: requestJsonSchema, 400: errorResponseJsonSchema },
        ...(options.secured ? { security: API_KEY_SECURITY } : {}),
      },
      validatorCompiler: () => () => true,
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => {
      const parsed = scoringSettingsRequestSchema.safeParse(request.body);
      if (!parsed.success) throw new InvalidInputError(issuesOf(parsed.error));
      const body = parsed.data;
      await options.scoring.setScoringMethod({ userId: body.user_id, categoryId: body.category_id, method: body.method, coldStart: body.cold_start });
      return body;
    },
  );
}
