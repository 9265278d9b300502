import { useState } from 'preact/hooks';
import { z } from 'zod';
import {
  BATCH_STATUSES,
  type BatchDetail,
  type BatchRow,
  type RescoreDetail,
  batchDetailSchema,
  batchesPageSchema,
  rescoreDetailSchema,
  rescoresPageSchema,
} from '../../../contracts/dashboard';
import { API, ApiError, download, getJson } from '../api';
import { Empty, ErrorBox, ExternalLink, LoadState, Pager, Section, Stat, StatusBadge, TableHead, useLoad } from '../components';
import { Time, formatInteger, formatNumber, formatPercent } from '../format';
import { href, navigate, paramsObject } from '../router';
import { shortId } from './anomalies';

/** The live poll's pace for lists (a detail polls as often as its answer's pollAfterMs says). */
const LIST_POLL_MS = 2000;

/** The parts of a batch's result (contracts/batch.ts BatchResult) this page shows; anything else is ignored. */
const batchResultSchema = z
  .object({
    totals: z.object({ rowsRead: z.number().optional(), rowsOk: z.number().optional(), rowsScored: z.number().optional(), rowsRejected: z.number().optional(), anomalies: z.number().optional(), seconds: z.number().optional(), rowsPerSecond: z.number().optional() }).partial().passthrough(),
    alerts: z.object({ queued: z.number(), failed: z.number() }).partial(),
    transactions: z
      .object({
        perCategory: z.array(z.object({ categoryId: z.number(), rows: z.number(), anomalies: z.number(), meanAmount: z.number() })).optional(),
        perDay: z.array(z.object({ day: z.string().nullable(), rows: z.number(), anomalies: z.number(), amount: z.number() })).optional(),
      })
      .passthrough()
      .nullable(),
    series: z.object({ seriesId: z.string().optional(), points: z.number().optional(), anomalies: z.number().optional(), period: z.number().optional() }).passthrough().nullable(),
  })
  .partial()
  .passthrough();

function ProgressBar({ value, label }: { value: number; label: string }) {
  const percent = Math.max(0, Math.min(1, value));
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(percent * 100)} data-progress={percent}>
      <span style={{ width: `${percent * 100}%` }} />
    </div>
  );
}

function RejectsButton({ batchId, url, count }: { batchId: string; url: string | null; count: number }) {
  const [error, setError] = useState<string | null>(null);
  if (count === 0) return <span class="muted">none</span>;
  const target = url ?? `/api/batches/${encodeURIComponent(batchId)}/rejects?format=csv`;
  // The URL the server gives is absolute (/api/...); the page's own requests are relative to /dashboard/.
  const path = target.startsWith('/') ? `..${target}` : target;
  const get = async () => {
    setError(null);
    try {
      await download(path, `${batchId}-rejects.csv`, 'text/csv');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <>
      <button type="button" class="secondary small-button" onClick={get} data-download-rejects={batchId}>
        {formatInteger(count)} rejected · download CSV
      </button>
      {error && <span role="alert" class="error-text"> {error}</span>}
    </>
  );
}

function BatchList({ params }: { params: URLSearchParams }) {
  const status = params.get('status') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/batches`, batchesPageSchema, { status, cursor, limit: 25 }, signal), `${status}/${cursor}`, {
    pollMs: LIST_POLL_MS,
    poll: (page) => page.items.some((b) => b.status === 'running'),
  });
  return (
    <Section
      title="Batches"
      actions={
        <label class="inline">
          Status{' '}
          <select value={status} onChange={(e) => navigate('batches', { ...paramsObject(params), status: (e.currentTarget as HTMLSelectElement).value, cursor: undefined }, true)}>
            <option value="">any</option>
            {BATCH_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <LoadState loaded={loaded} what="batches" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            status || cursor ? (
              <Empty>No {status} batches.</Empty>
            ) : (
              <Empty command={['./bin/argus ingest today.csv', "curl -X POST 'http://127.0.0.1:8080/api/batches?mode=score' -H 'content-type: text/csv' --data-binary @today.csv"]}>
                No batches yet: ingest a CSV file and it shows here, with live progress while it runs.
              </Empty>
            )
          ) : (
            <>
              <div class="table-wrap">
                <table class="data cards" data-table="batches">
                  <TableHead columns={['File', 'Status', 'Progress', 'Rows', 'Rows/s', 'Anomalies', 'Rejects', 'Started']} numeric={['Rows', 'Rows/s', 'Anomalies']} />
                  <tbody>
                    {page.items.map((batch) => (
                      <BatchListRow key={batch.batchId} batch={batch} selected={params.get('id') === batch.batchId} params={params} />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page="batches" params={params} nextCursor={page.nextCursor} />
            </>
          )
        }
      </LoadState>
    </Section>
  );
}

function BatchListRow({ batch, selected, params }: { batch: BatchRow; selected: boolean; params: URLSearchParams }) {
  return (
    <tr data-batch-id={batch.batchId} data-status={batch.status} class={selected ? 'selected' : undefined}>
      <td data-label="File">
        <a href={href('batches', { ...paramsObject(params), id: batch.batchId, rescore: undefined })} aria-current={selected ? 'true' : undefined}>
          {batch.fileName || shortId(batch.batchId)}
        </a>
        <div class="muted small">
          {batch.fileKind === 'timeseries' ? 'time series' : batch.mode}
        </div>
      </td>
      <td data-label="Status">
        <StatusBadge status={batch.status} />
      </td>
      <td data-label="Progress">
        <ProgressBar value={batch.progress} label={`progress of ${batch.fileName || batch.batchId}`} />
        <span class="small">{formatPercent(batch.progress)}</span>
      </td>
      <td data-label="Rows" class="num" data-rows={batch.rowsRead}>
        {formatInteger(batch.rowsRead)}
      </td>
      <td data-label="Rows/s" class="num">
        {formatInteger(batch.rowsPerSecond)}
      </td>
      <td data-label="Anomalies" class="num" data-anomalies={batch.anomalies}>
        {batch.anomalies > 0 ? <a href={href('anomalies', { batch: batch.batchId })}>{formatInteger(batch.anomalies)}</a> : '0'}
      </td>
      <td data-label="Rejects">
        <RejectsButton batchId={batch.batchId} url={null} count={batch.rowsRejected} />
      </td>
      <td data-label="Started">
        <Time value={batch.createdAt} />
      </td>
    </tr>
  );
}

function BatchResultView({ detail }: { detail: BatchDetail }) {
  const parsed = batchResultSchema.safeParse(detail.result);
  if (detail.result === null) return null;
  if (!parsed.success) return <p class="muted">The result has a shape this page does not know.</p>;
  const result = parsed.data;
  const categories = [...(result.transactions?.perCategory ?? [])].sort((a, b) => b.anomalies - a.anomalies).slice(0, 10);
  return (
    <div class="result" data-result>
      <h3>Result</h3>
      <div class="stats">
        {result.alerts && <Stat name="alerts-queued" label="alerts queued" value={formatInteger(result.alerts.queued ?? 0)} />}
        {result.alerts && <Stat name="alerts-failed" label="alerts failed" value={formatInteger(result.alerts.failed ?? 0)} />}
        {result.totals?.seconds !== undefined && <Stat name="seconds" label="seconds" value={formatNumber(result.totals.seconds, 1)} />}
        {result.series && <Stat name="series-points" label="series points" value={formatInteger(result.series.points ?? 0)} />}
        {result.series && <Stat name="series-anomalies" label="series anomalies" value={formatInteger(result.series.anomalies ?? 0)} />}
      </div>
      {result.series?.seriesId && (
        <p>
          <a href={href('series', { id: result.series.seriesId })}>Open the series chart →</a>
        </p>
      )}
      {categories.length > 0 && (
        <div class="table-wrap">
          <table class="data compact" data-table="batch-categories">
            <caption>Categories with most anomalies</caption>
            <TableHead columns={['Category', 'Rows', 'Anomalies', 'Mean amount']} numeric={['Rows', 'Anomalies', 'Mean amount']} />
            <tbody>
              {categories.map((c) => (
                <tr key={c.categoryId}>
                  <td>
                    <a href={href('anomalies', { batch: detail.batchId, category: c.categoryId })}>{c.categoryId}</a>
                  </td>
                  <td class="num">{formatInteger(c.rows)}</td>
                  <td class="num">{formatInteger(c.anomalies)}</td>
                  <td class="num">{formatNumber(c.meanAmount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function BatchDetailView({ batchId }: { batchId: string }) {
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/batches/${encodeURIComponent(batchId)}`, batchDetailSchema, {}, signal), batchId, {
    // As often as the server says while the batch runs.
    pollMs: (detail) => detail.pollAfterMs ?? LIST_POLL_MS,
    poll: (detail) => detail.pollAfterMs !== null,
  });
  return (
    <Section title="Batch" actions={<a href={href('batches')}>Close</a>}>
      <LoadState loaded={loaded} what={`batch ${batchId}`} retry={reload}>
        {(detail) => (
          <div data-batch-detail={detail.batchId} data-status={detail.status} aria-live="polite">
            <p>
              <strong>{detail.fileName || detail.batchId}</strong> <StatusBadge status={detail.status} /> · {detail.fileKind === 'timeseries' ? 'time series' : `mode ${detail.mode}`} · started <Time value={detail.createdAt} />
              {detail.finishedAt && (
                <>
                  {' '}
                  · ended <Time value={detail.finishedAt} />
                </>
              )}
            </p>
            {detail.error && <ErrorBox message={detail.error} />}
            <ProgressBar value={detail.progress} label="progress" />
            <div class="stats">
              <Stat name="progress" label="of the file read" value={formatPercent(detail.progress)} hint={`${formatInteger(detail.bytesDone)} of ${formatInteger(detail.bytesTotal)} bytes`} />
              <Stat name="rows" label="rows read" value={formatInteger(detail.rowsRead)} />
              <Stat name="rate" label="rows/s" value={formatInteger(detail.rowsPerSecond)} />
              <Stat name="scored" label="scored" value={formatInteger(detail.rowsScored)} />
              <Stat name="anomalies" label="anomalies" value={detail.anomalies > 0 ? <a href={href('anomalies', { batch: detail.batchId })}>{formatInteger(detail.anomalies)}</a> : '0'} />
              <Stat name="rejected" label="rejected" value={formatInteger(detail.rowsRejected)} />
              <Stat name="duplicates" label="already stored" value={formatInteger(detail.rowsDuplicate)} />
              <Stat name="chunks" label="chunks" value={formatInteger(detail.chunksDone)} />
            </div>
            <p>
              Rejected rows: <RejectsButton batchId={detail.batchId} url={detail.rejectsCsvUrl} count={detail.rowsRejected} /> · Workflow:{' '}
              <ExternalLink href={detail.workflow.url}>{detail.workflow.workflowId}</ExternalLink>
            </p>
            <BatchResultView detail={detail} />
          </div>
        )}
      </LoadState>
    </Section>
  );
}

function RescoreList({ selected, params }: { selected: string | null; params: URLSearchParams }) {
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/rescores`, rescoresPageSchema, { limit: 25 }, signal), 'rescores', {
    pollMs: LIST_POLL_MS,
    poll: (page) => page.items.some((r) => r.status === 'RUNNING'),
  });
  return (
    <Section title="Re-score runs">
      <LoadState loaded={loaded} what="re-score runs" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty command={['./bin/argus rescore --score-days 1', './bin/argus schedule list']}>No re-score runs yet: the nightly schedule starts one, or run one now.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="data cards" data-table="rescores">
                <TableHead columns={['Run', 'Status', 'Window end', 'Anomalies', 'Started', 'Workflow']} numeric={['Anomalies']} />
                <tbody>
                  {page.items.map((run) => (
                    <tr key={`${run.workflowId}/${run.runId}`} data-workflow-id={run.workflowId} class={selected === run.workflowId ? 'selected' : undefined}>
                      <td data-label="Run">
                        <a href={href('batches', { ...paramsObject(params), rescore: run.workflowId, id: undefined })}>{shortId(run.workflowId, 36)}</a>
                      </td>
                      <td data-label="Status">
                        <StatusBadge status={run.status.toLowerCase()} />
                      </td>
                      <td data-label="Window end">
                        <Time value={run.windowEnd} />
                      </td>
                      <td data-label="Anomalies" class="num">
                        {formatInteger(run.anomalies)}
                      </td>
                      <td data-label="Started">
                        <Time value={run.startTime} />
                      </td>
                      <td data-label="Workflow">
                        <ExternalLink href={run.workflow.url}>Temporal UI</ExternalLink>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </LoadState>
    </Section>
  );
}

function RescoreDetailView({ workflowId }: { workflowId: string }) {
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/rescores/${encodeURIComponent(workflowId)}`, rescoreDetailSchema, {}, signal), workflowId, {
    pollMs: (detail) => detail.pollAfterMs ?? LIST_POLL_MS,
    poll: (detail: RescoreDetail) => detail.pollAfterMs !== null,
  });
  return (
    <Section title="Re-score run" actions={<a href={href('batches')}>Close</a>}>
      <LoadState loaded={loaded} what={`run ${workflowId}`} retry={reload}>
        {(run) => (
          <div data-rescore-detail={run.workflowId} aria-live="polite">
            <p>
              <strong>{run.workflowId}</strong> <StatusBadge status={run.status.toLowerCase()} /> · started <Time value={run.startTime} />
              {run.closeTime && (
                <>
                  {' '}
                  · ended <Time value={run.closeTime} />
                </>
              )}{' '}
              · <ExternalLink href={run.workflow.url}>Temporal UI</ExternalLink>
            </p>
            {run.progress && (
              <>
                <p class="muted small">
                  Baselines from <Time value={run.progress.window.baselineFrom} /> to <Time value={run.progress.window.baselineTo} />; re-scored <Time value={run.progress.window.scoreFrom} /> to{' '}
                  <Time value={run.progress.window.scoreTo} />
                  {run.progress.window.excludeAnomalies ? ' (anomalies left out of the baselines)' : ''}.
                </p>
                <div class="stats">
                  <Stat name="pairs" label="baseline pairs" value={formatInteger(run.progress.baselinePairs)} />
                  <Stat name="rows" label="rows re-scored" value={formatInteger(run.progress.rowsRead)} />
                  <Stat name="rate" label="rows/s" value={formatInteger(run.rowsPerSecond)} />
                  <Stat name="anomalies" label="anomalous" value={formatInteger(run.progress.anomalies)} />
                  <Stat name="newly" label="newly anomalous" value={formatInteger(run.progress.newlyAnomalous)} />
                </div>
              </>
            )}
            {run.totals && (
              <p class="muted small">
                Stored for this run: {formatInteger(run.totals.rescored)} re-scored, {formatInteger(run.totals.anomalies)} anomalous, {formatInteger(run.totals.newlyAnomalous)} newly.
              </p>
            )}
            {!run.progress && !run.totals && <p class="muted">This run has not reported progress yet.</p>}
          </div>
        )}
      </LoadState>
    </Section>
  );
}

export function BatchesPage({ params }: { params: URLSearchParams }) {
  const selected = params.get('id');
  const rescore = params.get('rescore');
  return (
    <>
      <p class="lede">CSV batches with their progress (live while running), throughput, rejected rows and result; re-score runs below.</p>
      {selected && <BatchDetailView batchId={selected} />}
      {rescore && <RescoreDetailView workflowId={rescore} />}
      <BatchList params={params} />
      <RescoreList selected={rescore} params={params} />
    </>
  );
}
