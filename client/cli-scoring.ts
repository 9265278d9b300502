import { type Command, Option } from 'commander';
import { InvalidInputError } from '../contracts/transaction';
import type { ScoringOverrideInput } from './argus-client';
import type { CommandContext } from './cli-models';
import { parseStrictInteger } from './cli-parse';

/**
 * `argus scoring set|clear`: the spending score of a user, a category or one (user, category), like
 * `argus threshold` (the most specific scope wins, per field). Without an override the deployment's
 * ARGUS_SCORING_METHOD and ARGUS_COLD_START apply.
 */

const QUICK_TIMEOUT_MS = 60_000;

function scopeOf(opts: { user?: number; category?: number }): { userId?: number; categoryId?: number } {
  if (opts.user === undefined && opts.category === undefined) {
    throw new InvalidInputError([{ field: 'scope', message: 'name --user, --category or both' }]);
  }
  return { userId: opts.user, categoryId: opts.category };
}

export function formatScoringSet(override: ScoringOverrideInput): string {
  const scope = [override.userId !== undefined ? `user ${override.userId}` : '', override.categoryId !== undefined ? `category ${override.categoryId}` : '']
    .filter(Boolean)
    .join(' · ');
  if (override.method === null && override.coldStart === null) return `scoring cleared: ${scope} (the wider scope or the deployment decides)`;
  const parts = [
    override.method !== null ? `method ${override.method}` : 'method inherited',
    override.coldStart !== null ? `cold start ${override.coldStart ? 'on' : 'off'}` : 'cold start inherited',
  ];
  return `scoring set: ${scope}  ${parts.join(', ')}`;
}

export function registerScoringCommands(program: Command, context: CommandContext): void {
  const scoring = program
    .command('scoring')
    .description('per-user or per-category spending score: zscore (default), log-z, robust-z, and cold start (most specific wins)');
  scoring
    .command('set')
    .description('set the scoring method and/or cold start of a user, a category or both')
    .option('--user <id>', 'user id', parseStrictInteger)
    .option('--category <id>', 'category id', parseStrictInteger)
    .addOption(new Option('--method <method>', 'zscore (the seed rule), log-z (z of ln amount) or robust-z (median / MAD)').choices(['zscore', 'log-z', 'robust-z']))
    .addOption(new Option('--cold-start <on|off>', "score a pair's first transactions against its category's baseline").choices(['on', 'off']))
    .option('--json', 'print the override as JSON')
    .action(async (opts) => {
      if (opts.method === undefined && opts.coldStart === undefined) {
        throw new InvalidInputError([{ field: 'method', message: 'give --method, --cold-start or both (argus scoring clear removes an override)' }]);
      }
      const override: ScoringOverrideInput = {
        ...scopeOf(opts),
        method: opts.method ?? null,
        coldStart: opts.coldStart === undefined ? null : opts.coldStart === 'on',
      };
      await context.run(QUICK_TIMEOUT_MS, (argus) => argus.setScoringMethod(override));
      context.stdout(`${opts.json ? JSON.stringify(override) : formatScoringSet(override)}\n`);
    });
  scoring
    .command('clear')
    .description('remove the override of a scope, so the wider one (or ARGUS_SCORING_METHOD / ARGUS_COLD_START) applies again')
    .option('--user <id>', 'user id', parseStrictInteger)
    .option('--category <id>', 'category id', parseStrictInteger)
    .option('--json', 'print the cleared scope as JSON')
    .action(async (opts) => {
      const override: ScoringOverrideInput = { ...scopeOf(opts), method: null, coldStart: null };
      await context.run(QUICK_TIMEOUT_MS, (argus) => argus.setScoringMethod(override));
      context.stdout(`${opts.json ? JSON.stringify(override) : formatScoringSet(override)}\n`);
    });
}
