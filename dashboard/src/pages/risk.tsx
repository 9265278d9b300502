import { type RiskPage as RiskData, type RiskRow, riskPageSchema } from '../../../contracts/dashboard';
import { API, getJson } from '../api';
import { Empty, LoadState, Section, SortHeader, type SortDirection, useLoad } from '../components';
import { Time, formatInteger, formatNumber, formatPercent } from '../format';
import { href, navigate, paramsObject } from '../router';

const WINDOWS = [
  { days: 1, label: 'last day' },
  { days: 7, label: 'last 7 days' },
  { days: 30, label: 'last 30 days' },
  { days: 90, label: 'last 90 days' },
  { days: 365, label: 'last year' },
];
const SORTS = ['rate', 'anomalies', 'transactions', 'id'] as const;
type RiskSort = (typeof SORTS)[number];

function RiskTable({ kind, data, sort, order, onSort }: { kind: 'category' | 'user'; data: RiskData; sort: RiskSort; order: SortDirection; onSort: (column: string, direction: SortDirection) => void }) {
  const idLabel = kind === 'category' ? 'Category' : 'User';
  if (data.items.length === 0) {
    return (
      <Empty command="./bin/argus ingest today.csv">
        No transactions in this window{data.groups > 0 ? ' with enough transactions per ' + kind : ''}. Ingest a file or widen the window.
      </Empty>
    );
  }
  const link = (row: RiskRow) => (kind === 'category' ? href('anomalies', { category: row.id }) : href('anomalies', { user: row.id }));
  return (
    <div class="table-wrap">
      <table class="data cards" data-table={`risk-${kind}`}>
        <thead>
          <tr>
            <SortHeader label={idLabel} column="id" sort={sort} direction={order} onSort={onSort} />
            <SortHeader label="Anomaly rate" column="rate" sort={sort} direction={order} onSort={onSort} numeric />
            <SortHeader label="Anomalies" column="anomalies" sort={sort} direction={order} onSort={onSort} numeric />
            <SortHeader label="Transactions" column="transactions" sort={sort} direction={order} onSort={onSort} numeric />
            <th scope="col" class="num">
              Anomalous amount
            </th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((row) => (
            <tr key={row.id} data-id={row.id} data-rate={row.rate}>
              <td data-label={idLabel}>
                <a href={link(row)} title={`anomalies of ${kind} ${row.id}`}>
                  {row.id}
                </a>
              </td>
              <td data-label="Anomaly rate" class="num">
                <span class="rate-bar" aria-hidden="true">
                  <span style={{ width: `${Math.min(100, row.rate * 100)}%` }} />
                </span>
                {formatPercent(row.rate)}
              </td>
              <td data-label="Anomalies" class="num">
                {formatInteger(row.anomalies)}
              </td>
              <td data-label="Transactions" class="num">
                {formatInteger(row.transactions)}
              </td>
              <td data-label="Anomalous amount" class="num">
                {formatNumber(row.anomalousAmount)} <span class="muted small">of {formatNumber(row.amount)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RiskSection({ kind, params }: { kind: 'category' | 'user'; params: URLSearchParams }) {
  const prefix = kind === 'category' ? 'c' : 'u';
  const sortParam = params.get(`${prefix}sort`);
  const sort: RiskSort = (SORTS as readonly string[]).includes(sortParam ?? '') ? (sortParam as RiskSort) : 'rate';
  const order: SortDirection = params.get(`${prefix}order`) === 'asc' ? 'asc' : 'desc';
  const days = Number(params.get('days') ?? '30') || 30;
  const minTransactions = params.get('min') ?? '1';
  const query = { from: new Date(Date.now() - days * 86_400_000).toISOString(), sort, order, minTransactions, limit: 50 };
  const key = JSON.stringify({ ...query, from: days });
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/risk/${kind === 'category' ? 'categories' : 'users'}`, riskPageSchema, query, signal), key);
  const onSort = (column: string, direction: SortDirection) => navigate('risk', { ...paramsObject(params), [`${prefix}sort`]: column, [`${prefix}order`]: direction }, true);
  return (
    <Section title={kind === 'category' ? 'Categories' : 'Users'}>
      <LoadState loaded={loaded} what={kind === 'category' ? 'categories' : 'users'} retry={reload}>
        {(data) => (
          <>
            <p class="muted small">
              {formatInteger(data.groups)} {kind === 'category' ? 'categories' : 'users'} with transactions from <Time value={data.from} /> to <Time value={data.to} />
              {data.items.length < data.groups ? `; the top ${data.items.length} shown` : ''}.
            </p>
            <RiskTable kind={kind} data={data} sort={sort} order={order} onSort={onSort} />
          </>
        )}
      </LoadState>
    </Section>
  );
}

export function RiskPage({ params }: { params: URLSearchParams }) {
  const days = params.get('days') ?? '30';
  const change = (event: Event) => {
    const target = event.currentTarget as HTMLSelectElement | HTMLInputElement;
    navigate('risk', { ...paramsObject(params), [target.name]: target.value }, true);
  };
  return (
    <>
      <p class="lede">Where anomalies concentrate: the share of each category's and each user's transactions flagged as anomalous. Sort by any column.</p>
      <form class="filters" aria-label="Window" onSubmit={(e) => e.preventDefault()}>
        <label>
          Window
          <select name="days" value={days} onChange={change}>
            {WINDOWS.map((w) => (
              <option key={w.days} value={String(w.days)}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          At least … transactions
          <input name="min" type="number" min="1" inputMode="numeric" value={params.get('min') ?? '1'} onChange={change} />
        </label>
      </form>
      <RiskSection kind="category" params={params} />
      <RiskSection kind="user" params={params} />
    </>
  );
}
