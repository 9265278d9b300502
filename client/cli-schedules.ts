import type { Command } from 'commander';
import { InvalidInputError } from '../contracts/transaction';
import { ensureSearchAttributes } from '../infra/setup/search-attributes';
import { textTable } from './cli-format';
import type { CommandContext } from './cli-models';
import { parsePositiveInteger, parseStrictInteger } from './cli-parse';
import { type RunFilter, findRuns, runQuery } from './runs';
import {
  backfillSchedule,
  createRescoreSchedule,
  deleteSchedule,
  describeSchedule,
  ensureSchedules,
  listSchedules,
  pauseSchedule,
  rescoreNow,
  triggerSchedule,
  unpauseSchedule,
} from './schedules';

/**
 * `argus schedule …` (Temporal Schedules that re-score stored transactions), `argus rescore` (one window
 * now), `argus runs` (runs found by Argus's search attributes) and `argus setup` (a cluster's search
 * attributes and default schedules). Each with --json.
 */

const QUICK_TIMEOUT_MS = 2 * 60_000;
const RESCORE_TIMEOUT_MS = 6 * 3600_000;

function isoOption(field: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError([{ field, message: `${field} must be an ISO-8601 date or date-time, got ${JSON.stringify(value)}` }]);
  return new Date(ms).toISOString();
}


function rescoreOptions(opts: { baselineDays?: number; scoreDays?: number; includeAnomalies?: boolean; pageRows?: number }) {
  return { baselineDays: opts.baselineDays, scoreDays: opts.scoreDays, includeAnomalies: opts.includeAnomalies, pageRows: opts.pageRows };
}

export function registerScheduleCommands(program: Command, context: CommandContext): void {
  const print = (json: boolean | undefined, value: unknown, text: string) => context.stdout(`${json ? JSON.stringify(value) : text}\n`);
  const schedule = program.command('schedule').description('Temporal Schedules that re-score stored transactions');

  schedule
    .command('create')
    .description('create (or update) a re-score schedule: baselines from a window of history, then the latest window re-scored')
    .argument('<id>', 'schedule id')
    .option('--cron <expr>', "when it runs, cron in UTC (default '0 2 * * *': nightly at 02:00)")
    .option('--baseline-days <n>', 'days of history the baselines come from (default 90)', parsePositiveInteger)
    .option('--score-days <n>', 'days re-scored, ending at the time of each run (default 1)', parsePositiveInteger)
    .option('--include-anomalies', 'let rows flagged as anomalies count in the baselines')
    .option('--catchup <duration>', "how late a missed run may still start (default '1 day')")
    .option('--paused', 'create it paused')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      await context.run(QUICK_TIMEOUT_MS, (argus) =>
        createRescoreSchedule(argus, id, { ...rescoreOptions(opts), cron: opts.cron, catchupWindow: opts.catchup, paused: opts.paused === true }),
      );
      print(opts.json, { scheduleId: id, created: true }, `schedule ${id} created (argus schedule describe ${id})`);
    });

  schedule
    .command('list')
    .description("the namespace's schedules with their state, recent and next runs")
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const listed = await context.run(QUICK_TIMEOUT_MS, (argus) => listSchedules(argus));
      if (opts.json) return print(true, listed, '');
      if (listed.length === 0) return print(false, listed, 'no schedules: argus schedule create ID');
      print(false, listed, textTable([['schedule', 'workflow', 'state', 'next run', 'last run'], ...listed.map((s) => [s.scheduleId, s.workflowType ?? '-', s.paused ? 'paused' : 'active', s.nextRuns[0] ?? '-', s.recentRuns.at(-1) ?? '-'])]));
    });

  schedule
    .command('describe')
    .description("a schedule's spec, action, policies, state and runs")
    .argument('<id>', 'schedule id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const d = await context.run(QUICK_TIMEOUT_MS, (argus) => describeSchedule(argus, id));
      const summary = {
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        note: d.state.note ?? null,
        action: d.action.type === 'startWorkflow' ? { workflowType: d.action.workflowType, taskQueue: d.action.taskQueue, args: d.action.args } : d.action,
        policies: d.policies,
        spec: d.spec,
        recentRuns: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : null })),
        nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
      };
      print(
        opts.json,
        summary,
        [
          `schedule ${d.scheduleId}  ${d.state.paused ? 'paused' : 'active'}${d.state.note ? `  (${d.state.note})` : ''}`,
          `action   ${JSON.stringify(summary.action)}`,
          `policies overlap ${d.policies.overlap}, catch-up window ${d.policies.catchupWindow} ms`,
          `next     ${summary.nextRuns.slice(0, 3).join(', ') || '-'}`,
          `recent   ${summary.recentRuns.map((r) => r.workflowId ?? r.scheduledAt).join(', ') || '-'}`,
        ].join('\n'),
      );
    });

  for (const [name, description, work] of [
    ['pause', 'pause a schedule (runs stop until unpause)', pauseSchedule],
    ['unpause', 'unpause a schedule', unpauseSchedule],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .argument('<id>', 'schedule id')
      .option('--note <text>', 'why (shown in describe and the UI)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts) => {
        await context.run(QUICK_TIMEOUT_MS, (argus) => work(argus, id, opts.note));
        print(opts.json, { scheduleId: id, paused: name === 'pause' }, `schedule ${id} ${name}d`);
      });
  }

  schedule
    .command('trigger')
    .description("run a schedule's action now")
    .argument('<id>', 'schedule id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      await context.run(QUICK_TIMEOUT_MS, (argus) => triggerSchedule(argus, id));
      print(opts.json, { scheduleId: id, triggered: true }, `schedule ${id} triggered (argus runs --kind rescore shows the run)`);
    });

  schedule
    .command('backfill')
    .description('run the schedule once for every time it would have fired in [--from, --to): one re-score per past window')
    .argument('<id>', 'schedule id')
    .requiredOption('--from <iso>', 'start (inclusive)')
    .requiredOption('--to <iso>', 'end (exclusive)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const from = isoOption('--from', opts.from);
      const to = isoOption('--to', opts.to);
      await context.run(QUICK_TIMEOUT_MS, (argus) => backfillSchedule(argus, id, new Date(from), new Date(to)));
      print(opts.json, { scheduleId: id, from, to }, `schedule ${id} backfilled from ${from} to ${to}`);
    });

  schedule
    .command('delete')
    .description('delete a schedule (its past runs stay in Temporal and SQL)')
    .argument('<id>', 'schedule id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      await context.run(QUICK_TIMEOUT_MS, (argus) => deleteSchedule(argus, id));
      print(opts.json, { scheduleId: id, deleted: true }, `schedule ${id} deleted`);
    });

  program
    .command('rescore')
    .description('re-score one window now and wait: baselines from --baseline-days before it, the last --score-days re-scored')
    .option('--window-end <iso>', 'end of the re-scored window (default now)')
    .option('--baseline-days <n>', 'default 90', parsePositiveInteger)
    .option('--score-days <n>', 'default 1', parsePositiveInteger)
    .option('--include-anomalies', 'let rows flagged as anomalies count in the baselines')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const windowEnd = opts.windowEnd === undefined ? undefined : isoOption('--window-end', opts.windowEnd);
      const result = await context.run(RESCORE_TIMEOUT_MS, (argus) => rescoreNow(argus, { ...rescoreOptions(opts), windowEnd }));
      print(
        opts.json,
        result,
        [
          `re-score ${result.runKey}`,
          `baselines ${result.window.baselineFrom} → ${result.window.baselineTo}: ${result.baselinePairs} (user, category) pairs`,
          `re-scored ${result.window.scoreFrom} → ${result.window.scoreTo}: ${result.rowsRead} rows, ${result.anomalies} anomalous, ${result.newlyAnomalous} newly (alerts queued ${result.alertsQueued}${result.alertsFailed ? `, failed ${result.alertsFailed}` : ''})`,
          `failed alerts retried: ${result.failedAlertsRetried.requeued} of ${result.failedAlertsRetried.retried}`,
        ].join('\n'),
      );
    });

  program
    .command('runs')
    .description("Argus's runs found by their search attributes (what the Temporal UI's filter and `temporal workflow list --query` do)")
    .option('--kind <kind>', 'transaction | batch | rescore')
    .option('--user <id>', 'user id', parseStrictInteger)
    .option('--category <id>', 'category id', parseStrictInteger)
    .option('--anomalous', 'only anomalous transactions')
    .option('--outcome <outcome>', 'running | completed | failed | cancelled | anomaly | normal')
    .option('--batch <id>', 'batch id')
    .option('--from <iso>', 'started at or after (re-score runs: window end)')
    .option('--to <iso>', 'started before (re-score runs: window end)')
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 50)
    .option('--query', 'print the visibility query instead of running it')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const filter: RunFilter = {
        kind: opts.kind,
        userId: opts.user,
        categoryId: opts.category,
        anomalous: opts.anomalous ? true : undefined,
        outcome: opts.outcome,
        batchId: opts.batch,
        from: opts.from,
        to: opts.to,
        limit: opts.limit,
      };
      if (filter.kind && !['transaction', 'batch', 'rescore'].includes(filter.kind)) throw new InvalidInputError([{ field: '--kind', message: '--kind is one of transaction, batch, rescore' }]);
      const query = runQuery(filter);
      if (opts.query) return print(opts.json, { query }, `temporal workflow list --query "${query}"`);
      const runs = await context.run(QUICK_TIMEOUT_MS, (argus) => findRuns(argus, filter));
      if (opts.json) return print(true, runs, '');
      if (runs.length === 0) return print(false, runs, `no runs match ${query}`);
      const attrs = (r: (typeof runs)[number]) =>
        Object.entries(r.searchAttributes)
          .filter(([k]) => k !== 'ArgusKind')
          .map(([k, v]) => `${k.replace(/^Argus/, '')}=${v}`)
          .join(' ');
      print(false, runs, textTable([['workflow', 'status', 'started', 'attributes'], ...runs.map((r) => [r.workflowId, r.status, r.startTime, attrs(r)])]));
    });

  program
    .command('setup')
    .description("a cluster's or namespace's search attributes and default schedules (npm start does this for its dev server)")
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const done = await context.run(QUICK_TIMEOUT_MS, async (argus) => {
        const added = await ensureSearchAttributes(argus.temporal.connection, argus.temporal.options.namespace);
        const schedules = await ensureSchedules(argus);
        return { searchAttributesAdded: added, schedules };
      });
      print(opts.json, done, `search attributes ${done.searchAttributesAdded.length ? `added: ${done.searchAttributesAdded.join(', ')}` : 'already registered'}; schedules: ${done.schedules.join(', ')}`);
    });
}
