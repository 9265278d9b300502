import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { parseScoreTransactionRequest } from '../contracts/transaction';
import { type ArgusConfig, ConfigError, loadConfig, processEnvironment } from '../infra/config';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { ArgusClient, type BaselineRow, type ThresholdOverride } from './argus-client';
import { type CommandContext, registerModelCommands } from './cli-models';
import { registerTimeSeriesCommands } from './cli-timeseries';
import { registerBatchCommands } from './cli-batches';
import { registerScheduleCommands } from './cli-schedules';
import { registerScoringCommands } from './cli-scoring';
import {
  EXIT_INVALID_INPUT,
  EXIT_OK,
  exitCodeFor,
  formatBaselinesImported,
  formatFailure,
  formatRetryResult,
  formatScoreResult,
  formatThresholdSet,
} from './cli-format';
import {
  BaselineFileError,
  parseBaselineFile,
  parseBaselineOptions,
  parsePositiveInteger,
  parseStrictInteger,
  parseStrictNumber,
  SCORE_OPTION_FOR_FIELD,
} from './cli-parse';
import { classifyFailure, withDeadline } from './failures';
import { idempotencyKeySchema } from './gateway/schemas';

/**
 * `argus`: the command line over the client SDK. Handlers only parse, call the SDK and print; the
 * wording lives in cli-format.ts. Exit codes: 0 ok, 2 invalid input, 1 anything else.
 */

/** A refused local connection fails fast anyway; this bounds the wait for a host that never answers. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Baselines travel as workflow arguments; batches keep each one far below Temporal's payload limit. */
const BASELINE_BATCH = 1_000;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: long commands draw a progress bar there. */
  terminal?: boolean;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: processEnvironment(),
  terminal: process.stderr.isTTY === true,
};

class UsageError extends Error {
  override name = 'UsageError';
}

function thresholdScope(opts: { user?: number; category?: number }, zThreshold: number | null): ThresholdOverride {
  if (opts.user === undefined && opts.category === undefined) throw new UsageError('name --user, --category or both');
  if (zThreshold !== null && !(zThreshold > 0)) throw new UsageError(`--z must be a positive number, got ${zThreshold}`);
  return { userId: opts.user, categoryId: opts.category, zThreshold };
}

/**
 * Fails at once when nothing listens at the Temporal address (the usual case: the stack is not
 * started), instead of after the gRPC connect deadline. Anything less clear-cut is left to gRPC.
 */
async function refuseFastIfNothingListens(address: string): Promise<void> {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return;
  const [, host, port] = match;
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (err?: NodeJS.ErrnoException) => {
      socket.destroy();
      if (err && (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND')) reject(err);
      else resolve();
    };
    socket.setTimeout(1_000, () => done());
    socket.once('connect', () => done());
    socket.once('error', done);
  });
}

async function withArgus<T>(config: ArgusConfig, timeoutMs: number, work: (argus: ArgusClient) => Promise<T>): Promise<T> {
  await refuseFastIfNothingListens(config.temporal.address);
  const connection = await Connection.connect({ ...temporalConnectionOptions(config.temporal), connectTimeout: CONNECT_TIMEOUT_MS });
  try {
    const argus = await ArgusClient.connect({ config, connection });
    return await withDeadline(work(argus), timeoutMs);
  } finally {
    await connection.close();
  }
}

function readFileText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let config: ArgusConfig | undefined;
  const settings = () => (config ??= loadConfig(io.env));
  /** Set by the running command, so a failure is worded in its terms. */
  const failureContext: { optionForField?: Record<string, string>; retryHint?: string } = {};

  const program = new Command('argus')
    .description('Argus: durable anomaly detection on Temporal')
    .option('--verbose', 'print stack traces on failure')
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (text, write) => write(text.replace(/^error: /, 'argus: ')),
    });

  program
    .command('score')
    .description('score one transaction against its (user, category) baseline')
    .requiredOption('--user <id>', 'user id', parseStrictInteger)
    .requiredOption('--category <id>', 'category id', parseStrictInteger)
    .requiredOption('--amount <number>', 'transaction amount', parseStrictNumber)
    .option('--transaction-id <id>', 'your id for the transaction (a repeat returns the first result)')
    .option('--occurred-at <iso>', 'when it happened, ISO-8601 with offset')
    .option('--idempotency-key <key>', 'without --transaction-id: the same key and values give the same transaction')
    .option('--timeout <seconds>', 'how long to wait for the result', parsePositiveInteger, 60)
    .option('--json', 'print the response JSON')
    .action(async (opts) => {
      failureContext.optionForField = SCORE_OPTION_FOR_FIELD;
      failureContext.retryHint = 'it may still complete: repeat the command with the same --transaction-id or --idempotency-key to get its result';
      const request = parseScoreTransactionRequest({
        user_id: opts.user,
        category_id: opts.category,
        amount: opts.amount,
        transaction_id: opts.transactionId,
        occurred_at: opts.occurredAt,
      });
      let idempotencyKey: string | undefined;
      if (opts.idempotencyKey !== undefined) {
        const key = idempotencyKeySchema.safeParse(opts.idempotencyKey);
        if (!key.success) throw new UsageError(`--idempotency-key: ${key.error.issues[0].message.replace('Idempotency-Key ', '')}`);
        idempotencyKey = key.data;
      }
      const result = await withArgus(settings(), opts.timeout * 1000, (argus) => argus.scoreTransaction(request, { idempotencyKey }));
      io.stdout(`${opts.json ? JSON.stringify(result) : formatScoreResult(result, { minSamples: settings().scoring.minSamples })}\n`);
    });

  const baseline = program.command('baseline').description('seed or replace (user, category) baselines');
  baseline
    .command('set')
    .description('set one baseline')
    .requiredOption('--user <id>', 'user id', parseStrictInteger)
    .requiredOption('--category <id>', 'category id', parseStrictInteger)
    .requiredOption('--mean <number>', 'mean amount', parseStrictNumber)
    .requiredOption('--std <number>', 'standard deviation', parseStrictNumber)
    .requiredOption('--count <n>', 'how many samples the baseline summarizes', parseStrictInteger)
    .action(async (opts) => {
      const row = parseBaselineOptions({ user_id: opts.user, category_id: opts.category, mean: opts.mean, std_dev: opts.std, sample_count: opts.count });
      const { imported } = await withArgus(settings(), 60_000, (argus) => argus.importBaselines([row]));
      io.stdout(`${formatBaselinesImported(imported, [row])}\n`);
    });
  baseline
    .command('import')
    .description('import baselines from a .json array or a .csv with user_id,category_id,mean,std_dev,sample_count')
    .argument('<file>', 'FILE.json or FILE.csv')
    .action(async (file: string) => {
      const rows = parseBaselineFile(path.basename(file), readFileText(file));
      const imported = await withArgus(settings(), 10 * 60_000, async (argus) => {
        let total = 0;
        for (let start = 0; start < rows.length; start += BASELINE_BATCH) {
          total += (await argus.importBaselines(rows.slice(start, start + BASELINE_BATCH))).imported;
        }
        return total;
      });
      io.stdout(`${formatBaselinesImported(imported, rows.length === 1 ? rows : ([] as BaselineRow[]))}\n`);
    });

  const threshold = program.command('threshold').description('per-user or per-category z thresholds (most specific wins)');
  threshold
    .command('set')
    .description('set the |z| above which a transaction is an anomaly, for a user, a category or both')
    .option('--user <id>', 'user id', parseStrictInteger)
    .option('--category <id>', 'category id', parseStrictInteger)
    .requiredOption('--z <number>', 'the threshold, e.g. 4', parseStrictNumber)
    .action(async (opts) => {
      const override = thresholdScope(opts, opts.z);
      await withArgus(settings(), 60_000, (argus) => argus.setThreshold(override));
      io.stdout(`${formatThresholdSet(override)}\n`);
    });
  threshold
    .command('clear')
    .description('remove an override, so the wider one (or ARGUS_Z_THRESHOLD) applies again')
    .option('--user <id>', 'user id', parseStrictInteger)
    .option('--category <id>', 'category id', parseStrictInteger)
    .action(async (opts) => {
      const override = thresholdScope(opts, null);
      await withArgus(settings(), 60_000, (argus) => argus.setThreshold(override));
      io.stdout(`${formatThresholdSet(override)}\n`);
    });

  program
    .command('alerts')
    .description('alert maintenance')
    .command('retry')
    .description('re-queue alerts whose queue step failed')
    .option('--limit <n>', 'at most this many transactions', parsePositiveInteger, 500)
    .action(async (opts) => {
      const result = await withArgus(settings(), 5 * 60_000, (argus) => argus.retryFailedAlerts(opts.limit));
      io.stdout(`${formatRetryResult(result)}\n`);
    });

  const commandContext: CommandContext = { stdout: io.stdout, run: (timeoutMs, work) => withArgus(settings(), timeoutMs, work), readFile: readFileText };
  registerModelCommands(program, commandContext);
  registerTimeSeriesCommands(program, commandContext);
  registerScheduleCommands(program, commandContext);
  registerScoringCommands(program, commandContext);
  registerBatchCommands(program, { ...commandContext, stderr: io.stderr, terminal: io.terminal === true });

  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_INVALID_INPUT;
    if (program.opts().verbose && err instanceof Error) io.stderr(`${err.stack}\n`);
    if (err instanceof UsageError || err instanceof BaselineFileError || err instanceof ConfigError) {
      io.stderr(`argus: ${err.message}\n`);
      return EXIT_INVALID_INPUT;
    }
    const failure = classifyFailure(err);
    io.stderr(`argus: ${formatFailure(failure, { temporalAddress: config?.temporal.address ?? '(unknown)', ...failureContext })}\n`);
    return exitCodeFor(failure);
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => {
    process.exitCode = code;
  });
}
