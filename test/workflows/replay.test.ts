import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { type ReplayResult, Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { installRuntimeLogger } from '../../workers/worker';
import { sharedWorkflowBundle } from '../support/argus-stack';
import { historyFromJson } from '../support/history-json';

const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');

/**
 * Determinism: histories recorded from real runs of every workflow type (test/fixtures/record-histories.ts
 * wrote them from the real stack) must replay on the current workflow bundle without a nondeterminism error.
 * A change to a workflow's commands (order, kind, activity type) fails here, before it fails the runs in flight
 * after a deploy: guard it with a patch, or re-record once no old run can be running.
 */
describe('replaying recorded workflow histories with the current workflow bundle', function () {
  this.timeout(120_000);

  /** What record-histories.ts wrote: each file with the workflow id and type of its run. */
  const index = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, 'index.json'), 'utf8')) as { file: string; workflowId: string; workflowType: string }[];
  const histories: (HistoryAndWorkflowId & { file: string; type: string })[] = index.map(({ file, workflowId }) => {
    const history = historyFromJson(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
    const type = history.events![0].workflowExecutionStartedEventAttributes?.workflowType?.name ?? '(no start event)';
    return { file, workflowId, history, type };
  });

  it('lists every history file in its index', () => {
    const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json');
    assert.deepEqual(files.sort(), index.map((h) => h.file).sort());
    assert.deepEqual(
      histories.map((h) => h.type),
      index.map((h) => h.workflowType),
    );
  });

  it('has a recorded history of every workflow type the bundle exports', () => {
    const recorded = new Set(histories.map((h) => h.type));
    const missing = Object.keys(workflows).filter((type) => !recorded.has(type));
    assert.deepEqual(missing, [], `no recorded history for ${missing.join(', ')}: run npx tsx test/fixtures/record-histories.ts`);
  });

  it('replays every recorded history without a nondeterminism error', async () => {
    installRuntimeLogger();
    const results: ReplayResult[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await sharedWorkflowBundle() }, histories)) results.push(result);
    assert.equal(results.length, histories.length, 'every history was replayed');
    // One at a time, in order: result i is history i (model writes share a workflow id).
    const failures = results.flatMap((r, i) => (r.error ? [`${histories[i].file} (${r.workflowId}): ${r.error.name}: ${r.error.message}`] : []));
    assert.deepEqual(failures, [], `histories that no longer replay:\n${failures.join('\n')}`);
  });
});
