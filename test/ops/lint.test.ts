import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../support/stack-process';

/**
 * The lint rules bite: planted code (never written to disk) run through eslint.config.mjs as if it were a
 * file of workflows/ or activities/. `npm test` runs `npm run lint` over the whole repository; this proves
 * the two rules that matter to Temporal code report what they are for, so a config that silently stopped
 * applying them (a wrong glob, type information lost) fails here.
 */
describe('lint: the Temporal samples rules apply', function () {
  this.timeout(180_000);
  let eslint: ESLint;

  before(() => {
    eslint = new ESLint({
      cwd: REPO_ROOT,
      // The planted files are not on disk: the type-aware rules type them with the default project.
      overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['workflows/planted-*.ts', 'activities/planted-*.ts', 'detection/planted-*.ts'] } } } },
    });
  });

  async function findings(relative: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(REPO_ROOT, relative) });
    return result.messages.map((m) => `${m.line}:${m.ruleId ?? 'fatal'}:${m.ruleId ? '' : m.message}`);
  }

  const WORKFLOW = [
    "import fs from 'node:fs';",
    "import os from 'os';",
    "import { proxyActivities } from '@temporalio/workflow';",
    "const acts = proxyActivities<{ step(): Promise<void> }>({ startToCloseTimeout: '1 minute' });",
    'export async function planted(): Promise<number> {',
    '  acts.step();',
    '  return fs.existsSync(os.tmpdir()) ? 1 : 0;',
    '}',
    '',
  ].join('\n');

  it('in workflows/: a Node built-in, `node:` or bare, and an activity call not awaited are errors', async () => {
    assert.deepEqual(await findings('workflows/planted-bad.ts', WORKFLOW), ['1:no-restricted-imports:', '2:no-restricted-imports:', '6:@typescript-eslint/no-floating-promises:']);
  });

  it('outside workflows/ built-ins are allowed; a floating promise is still an error', async () => {
    assert.deepEqual(await findings('activities/planted-bad.ts', WORKFLOW), ['6:@typescript-eslint/no-floating-promises:']);
  });

  it('in detection/: a Node built-in or a Temporal import is an error (the core is pure)', async () => {
    const code = ["import fs from 'node:fs';", "import { Context } from '@temporalio/activity';", "import { z } from 'zod';", 'export const planted = [fs, Context, z];', ''].join('\n');
    assert.deepEqual(await findings('detection/planted-impure.ts', code), ['1:no-restricted-imports:', '2:no-restricted-imports:']);
  });

  it('process.env is read only in infra/config.ts', async () => {
    const code = 'export const level = process.env.LOG_LEVEL;\n';
    assert.deepEqual(await findings('activities/planted-env.ts', code), ['1:no-restricted-properties:']);
    assert.deepEqual(await findings('infra/config.ts', code), []);
  });

  it('awaited, or marked as deliberately not awaited, passes', async () => {
    const code = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "const acts = proxyActivities<{ step(): Promise<void> }>({ startToCloseTimeout: '1 minute' });",
      'export async function planted(): Promise<void> {',
      '  await acts.step();',
      '  void acts.step();',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(await findings('workflows/planted-good.ts', code), []);
  });
});
