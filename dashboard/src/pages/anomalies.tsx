import { ALERT_STATUSES, type AnomalyItem, anomaliesPageSchema } from '../../../contracts/dashboard';
import { API, getJson } from '../api';
import { Empty, ExternalLink, LoadState, Pager, Section, StatusBadge, TableHead, useLoad } from '../components';
import { Time, dayStartIso, formatInteger, formatNumber } from '../format';
import { href, navigate } from '../router';

/** The URL's parameters (short names) and the endpoint's. */
const FILTERS = [
  { param: 'user', query: 'userId' },
  { param: 'category', query: 'categoryId' },
  { param: 'status', query: 'alertStatus' },
  { param: 'batch', query: 'batchId' },
] as const;

const STATUS_LABELS: Record<string, string> = {
  none: 'no alert (below threshold or no baseline)',
  pending: 'pending',
  queued: 'queued',
  sent: 'sent',
  failed: 'failed',
  dead_lettered: 'dead-lettered',
};

export function AnomalyTable({ items, showPairLinks = true }: { items: AnomalyItem[]; showPairLinks?: boolean }) {
  return (
    <div class="table-wrap">
      <table class="data cards" data-table="anomalies">
        <TableHead columns={['Scored', 'User', 'Category', 'Amount', 'z-score', 'Baseline (mean ± std, n)', 'Alert', 'Batch', 'Workflow']} numeric={['Amount', 'z-score']} />
        <tbody>
          {items.map((item) => (
            <tr key={item.transactionId} data-transaction-id={item.transactionId}>
              <td data-label="Scored">
                <Time value={item.createdAt} />
                {item.occurredAt && (
                  <div class="muted small">
                    occurred <Time value={item.occurredAt} />
                  </div>
                )}
              </td>
              <td data-label="User">
                {showPairLinks ? <a href={href('anomalies', { user: item.userId })}>{item.userId}</a> : item.userId}
              </td>
              <td data-label="Category">
                {showPairLinks ? (
                  <a href={href('pair', { user: item.userId, category: item.categoryId })} title={`user ${item.userId} · category ${item.categoryId} over time`}>
                    {item.categoryId}
                  </a>
                ) : (
                  item.categoryId
                )}
              </td>
              <td data-label="Amount" class="num" data-amount={item.amount}>
                {formatNumber(item.amount)}
              </td>
              <td data-label="z-score" class="num" data-z={item.zScore ?? ''}>
                {formatNumber(item.zScore)}
                <div class="muted small">threshold {formatNumber(item.threshold)}</div>
              </td>
              <td data-label="Baseline">
                {item.baseline ? (
                  <span title={item.baselineVerified ? 'the baseline this score used' : 'an estimate: this baseline does not reproduce the stored z-score'}>
                    {formatNumber(item.baseline.mean)} ± {formatNumber(item.baseline.stdDev)} (n = {formatInteger(item.baseline.sampleCount)})
                    {!item.baselineVerified && <span class="muted small"> estimate</span>}
                  </span>
                ) : (
                  <span class="muted">not reconstructable</span>
                )}
              </td>
              <td data-label="Alert">
                <StatusBadge status={item.alertStatus} />
                {item.delivery && (
                  <div class="muted small" title={item.delivery.lastError ?? undefined}>
                    {item.delivery.attempts} attempt{item.delivery.attempts === 1 ? '' : 's'}
                    {item.delivery.lastError ? `: ${item.delivery.lastError.slice(0, 60)}` : ''}
                  </div>
                )}
              </td>
              <td data-label="Batch">{item.batchId ? <a href={href('batches', { id: item.batchId })}>{shortId(item.batchId)}</a> : <span class="muted">single</span>}</td>
              <td data-label="Workflow">
                <ExternalLink href={item.workflow.url}>{shortId(item.workflow.workflowId, 28)}</ExternalLink>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function shortId(value: string, max = 22): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function FilterForm({ params }: { params: URLSearchParams }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Record<string, string> = {};
    for (const [name, value] of form.entries()) if (typeof value === 'string' && value.trim() !== '') next[name] = value.trim();
    navigate('anomalies', next);
  };
  const value = (name: string) => params.get(name) ?? '';
  return (
    <form class="filters" onSubmit={submit} aria-label="Filter anomalies" key={params.toString()}>
      <label>
        User
        <input name="user" type="number" min="0" inputMode="numeric" value={value('user')} />
      </label>
      <label>
        Category
        <input name="category" type="number" min="0" inputMode="numeric" value={value('category')} />
      </label>
      <label>
        From (day)
        <input name="from" type="date" value={value('from')} />
      </label>
      <label>
        To (day, inclusive)
        <input name="to" type="date" value={value('to')} />
      </label>
      <label>
        Alert
        <select name="status" value={value('status')}>
          <option value="">any</option>
          {ALERT_STATUSES.filter((s) => s !== 'none').map((status) => (
            <option key={status} value={status}>
              {STATUS_LABELS[status]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Batch
        <input name="batch" type="text" value={value('batch')} placeholder="batch id" />
      </label>
      <div class="filter-actions">
        <button type="submit">Apply</button>
        <a href={href('anomalies')} class="button secondary">
          Clear
        </a>
      </div>
    </form>
  );
}

export function AnomaliesPage({ params }: { params: URLSearchParams }) {
  const query: Record<string, string | undefined> = { limit: '50', cursor: params.get('cursor') ?? undefined };
  for (const { param, query: name } of FILTERS) query[name] = params.get(param) ?? undefined;
  const from = params.get('from');
  const to = params.get('to');
  if (from) query.from = dayStartIso(from);
  if (to) query.to = dayStartIso(to, true);
  const filtered = FILTERS.some(({ param }) => params.get(param)) || Boolean(from || to);
  const key = JSON.stringify(query);
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/anomalies`, anomaliesPageSchema, query, signal), key);

  return (
    <>
      <p class="lede">Transactions scored as anomalous, newest first. Click a category for that user and category over time.</p>
      <FilterForm params={params} />
      <Section title="Anomalous transactions">
        <LoadState loaded={loaded} what="anomalies" retry={reload}>
          {(page) =>
            page.items.length === 0 ? (
              filtered || params.get('cursor') ? (
                <Empty>
                  No anomalies match these filters. <a href={href('anomalies')}>Clear the filters</a> to see all of them.
                </Empty>
              ) : (
                <Empty command={['./bin/argus ingest history.csv --mode fit   # baselines from history', './bin/argus ingest today.csv                # score a day', './bin/argus score --user 399 --category 2310 --amount 25000']}>
                  No anomalies yet: score transactions or ingest a file, and the anomalous ones appear here.
                </Empty>
              )
            ) : (
              <>
                <p class="count" aria-live="polite" data-count={page.items.length}>
                  {page.items.length} anomal{page.items.length === 1 ? 'y' : 'ies'} on this page
                  {page.nextCursor ? ' (more on the next pages)' : ''}
                </p>
                <AnomalyTable items={page.items} />
                <Pager page="anomalies" params={params} nextCursor={page.nextCursor} />
              </>
            )
          }
        </LoadState>
      </Section>
    </>
  );
}
