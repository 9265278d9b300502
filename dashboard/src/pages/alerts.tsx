import { useState } from 'preact/hooks';
import { type AlertRetryResult, alertHealthSchema, alertRetryResultSchema, anomaliesPageSchema } from '../../../contracts/dashboard';
import { API, ApiError, getJson, postJson } from '../api';
import { Empty, ErrorBox, LoadState, Section, Stat, useLoad } from '../components';
import { formatInteger } from '../format';
import { AnomalyTable } from './anomalies';

type Scope = 'failed' | 'dead_lettered';

function retrySummary(result: AlertRetryResult): string {
  const parts: string[] = [];
  if (result.failed) {
    parts.push(`failed alerts: ${result.failed.requeued} of ${result.failed.retried} re-queued${result.failed.stillFailing ? `, ${result.failed.stillFailing} still failing` : ''}`);
  }
  if (result.deadLettered) {
    const { requeued, discarded, leftUnknown, leftUndecodable } = result.deadLettered;
    parts.push(
      `dead-lettered: ${requeued} moved back to the alert queue${discarded ? `, ${discarded} removed (sent meanwhile)` : ''}${leftUnknown ? `, ${leftUnknown} for transactions not stored left on the poison queue` : ''}${leftUndecodable ? `, ${leftUndecodable} unreadable left on the poison queue` : ''}`,
    );
  }
  return parts.length ? `Done: ${parts.join('; ')}.` : 'Nothing to retry.';
}

function FailedList({ status, version }: { status: Scope; version: number }) {
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/anomalies`, anomaliesPageSchema, { alertStatus: status, limit: 50 }, signal), `${status}/${version}`);
  return (
    <LoadState loaded={loaded} what={`${status} alerts`} retry={reload}>
      {(page) =>
        page.items.length === 0 ? (
          <Empty>{status === 'failed' ? 'No failed alerts: every anomaly reached the queue.' : 'No dead-lettered alerts: no email ran out of delivery attempts.'}</Empty>
        ) : (
          <div data-list={status}>
            <AnomalyTable items={page.items} />
            {page.nextCursor && <p class="muted small">More than {page.items.length}: the retry takes them all.</p>}
          </div>
        )
      }
    </LoadState>
  );
}

export function AlertsPage() {
  const [version, setVersion] = useState(0);
  const [busy, setBusy] = useState<Scope | 'all' | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/alerts`, alertHealthSchema, {}, signal), String(version));

  const retry = async (scope: Scope | 'all') => {
    setBusy(scope);
    setOutcome(null);
    try {
      const result = await postJson(`${API}/dashboard/alerts/retry`, { scope }, alertRetryResultSchema);
      setOutcome({ ok: true, text: retrySummary(result) });
    } catch (err) {
      setOutcome({ ok: false, text: err instanceof ApiError ? `The retry failed: ${err.message}` : String(err) });
    } finally {
      setBusy(null);
      setVersion((v) => v + 1);
    }
  };

  return (
    <>
      <p class="lede">The alert queue and its poison queue, and what happened to each anomaly's email. Retry puts failed and dead-lettered alerts back on the queue.</p>
      <LoadState loaded={loaded} what="alert health" retry={reload}>
        {(health) => (
          <>
            <div class="stats" data-alert-health>
              <Stat name="queue" label={`on the queue (${health.queue.name})`} value={health.queue.depth === null ? '?' : formatInteger(health.queue.depth)} hint={health.queue.error ?? 'approximate'} />
              <Stat name="poison" label={`on the poison queue (${health.poisonQueue.name})`} value={health.poisonQueue.depth === null ? '?' : formatInteger(health.poisonQueue.depth)} hint={health.poisonQueue.error ?? undefined} />
              <Stat name="sent" label="sent" value={formatInteger(health.byStatus.sent)} />
              <Stat name="queued" label="queued" value={formatInteger(health.byStatus.queued)} />
              <Stat name="pending" label="pending" value={formatInteger(health.byStatus.pending)} />
              <Stat name="retrying" label="being retried by the dispatcher" value={formatInteger(health.retrying)} />
              <Stat name="failed" label="failed (not queued)" value={formatInteger(health.byStatus.failed)} />
              <Stat name="dead_lettered" label="dead-lettered" value={formatInteger(health.byStatus.dead_lettered)} />
            </div>
            <div class="actions" role="group" aria-label="Retry alerts">
              <button type="button" onClick={() => retry('failed')} disabled={busy !== null || health.byStatus.failed === 0} data-retry="failed">
                {busy === 'failed' ? 'Retrying…' : `Retry ${formatInteger(health.byStatus.failed)} failed`}
              </button>
              <button type="button" onClick={() => retry('dead_lettered')} disabled={busy !== null || (health.byStatus.dead_lettered === 0 && !health.poisonQueue.depth)} data-retry="dead_lettered">
                {busy === 'dead_lettered' ? 'Retrying…' : `Retry ${formatInteger(health.byStatus.dead_lettered)} dead-lettered`}
              </button>
              <button type="button" class="link-button" onClick={reload}>
                Refresh
              </button>
            </div>
          </>
        )}
      </LoadState>
      {outcome &&
        (outcome.ok ? (
          <p class="notice" role="status" data-retry-outcome>
            {outcome.text}
          </p>
        ) : (
          <ErrorBox message={outcome.text} />
        ))}
      <Section title="Failed alerts">
        <FailedList status="failed" version={version} />
      </Section>
      <Section title="Dead-lettered alerts">
        <FailedList status="dead_lettered" version={version} />
      </Section>
    </>
  );
}
