import { useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { type PairHistory, pairHistorySchema } from '../../../contracts/dashboard';
import { API, getJson } from '../api';
import { COLORS, Chart, dots, line } from '../chart';
import { Empty, ExternalLink, LoadState, Section, Stat, StatusBadge, TableHead, useLoad } from '../components';
import { Time, formatInteger, formatNumber } from '../format';
import { href, navigate } from '../router';
import { shortId } from './anomalies';

function PairPicker({ user, category }: { user: string; category: string }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    navigate('pair', { user: String(form.get('user') ?? '').trim(), category: String(form.get('category') ?? '').trim() });
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Choose a user and category" key={`${user}/${category}`}>
      <label>
        User
        <input name="user" type="number" min="0" inputMode="numeric" required value={user} />
      </label>
      <label>
        Category
        <input name="category" type="number" min="0" inputMode="numeric" required value={category} />
      </label>
      <div class="filter-actions">
        <button type="submit">Show</button>
      </div>
    </form>
  );
}

/** A point's time on the chart: when it happened if the source said, else when it was scored. */
function pointSeconds(point: PairHistory['points'][number]): number {
  return Date.parse(point.occurredAt ?? point.createdAt) / 1000;
}

function useAmountChart(history: PairHistory) {
  return useMemo(() => {
    const points = history.points.map((point, order) => ({ point, order, x: pointSeconds(point) })).sort((a, b) => a.x - b.x || a.order - b.order);
    const x = points.map((p) => p.x);
    const amount = points.map((p) => p.point.amount);
    const mean = points.map((p) => p.point.baselineBefore?.mean ?? null);
    const upper = points.map((p) => p.point.band?.upper ?? null);
    const lower = points.map((p) => p.point.band?.lower ?? null);
    const anomalies = points.map((p) => (p.point.isAnomaly ? p.point.amount : null));
    const data: uPlot.AlignedData = [x, amount, mean, upper, lower, anomalies];
    const series: uPlot.Series[] = [
      dots('amount', COLORS.value, 6),
      line('baseline mean', COLORS.mean, { dash: [4, 3] }),
      line(`mean + ${history.threshold}σ`, COLORS.bandEdge, { width: 1 }),
      line(`mean − ${history.threshold}σ`, COLORS.bandEdge, { width: 1 }),
      dots('anomaly', COLORS.anomaly, 11),
    ];
    const bands: uPlot.Band[] = [{ series: [3, 4], fill: COLORS.band }];
    return { data, series, bands, anomalies: anomalies.filter((v) => v !== null).length };
  }, [history]);
}

/**
 * The baseline each transaction was scored against, on the same time axis as the amounts (when it happened,
 * else when it was scored), then the stored baseline now: a step for each change.
 */
function useBaselineChart(history: PairHistory) {
  return useMemo(() => {
    const rows = history.points
      .map((point, order) => ({ x: pointSeconds(point), order, baseline: point.baselineBefore }))
      .filter((r): r is { x: number; order: number; baseline: NonNullable<PairHistory['points'][number]['baselineBefore']> } => r.baseline !== null)
      .sort((a, b) => a.x - b.x || a.order - b.order);
    if (history.current) {
      const last = rows.length > 0 ? rows[rows.length - 1].x : -Infinity;
      rows.push({ x: Math.max(last, Date.parse(history.current.updatedAt) / 1000), order: rows.length, baseline: history.current });
    }
    const data: uPlot.AlignedData = [rows.map((r) => r.x), rows.map((r) => r.baseline.mean), rows.map((r) => r.baseline.stdDev)];
    // A baseline holds from one change to the next: drawn as steps, not slopes.
    const steps = uPlot.paths.stepped?.({ align: 1 });
    const series: uPlot.Series[] = [line('mean', COLORS.mean, { paths: steps }), line('std dev', COLORS.bandEdge, { paths: steps })];
    return { data, series };
  }, [history]);
}

function PairView({ history }: { history: PairHistory }) {
  const amounts = useAmountChart(history);
  const baselines = useBaselineChart(history);
  const flagged = history.points.filter((p) => p.isAnomaly).reverse();
  const unverified = history.points.filter((p) => !p.verified).length;
  const { current } = history;
  if (history.points.length === 0 && !current) {
    return (
      <Empty command={[`./bin/argus score --user ${history.userId} --category ${history.categoryId} --amount 25000`, `./bin/argus baseline set --user ${history.userId} --category ${history.categoryId} --mean 2000 --std 500 --count 30`]}>
        User {history.userId} has no transactions and no baseline in category {history.categoryId}. Score one, or set a baseline:
      </Empty>
    );
  }
  return (
    <>
      <div class="stats">
        <Stat name="mean" label="baseline mean" value={current ? formatNumber(current.mean) : '—'} />
        <Stat name="std" label="standard deviation" value={current ? formatNumber(current.stdDev) : '—'} />
        <Stat name="samples" label="samples" value={current ? formatInteger(current.sampleCount) : '—'} hint={`scored from ${history.minSamples}`} />
        <Stat name="threshold" label="z threshold" value={formatNumber(history.threshold)} />
        <Stat name="points" label="transactions shown" value={formatInteger(history.points.length)} hint={history.truncated ? 'older ones not shown' : undefined} />
        <Stat name="anomalies" label="anomalies" value={formatInteger(flagged.length)} />
      </div>
      {current && (
        <p class="muted small">
          Baseline last changed <Time value={current.updatedAt} />.
        </p>
      )}
      <Section title="Transactions, baseline and threshold band">
        {history.points.length === 0 ? (
          <Empty command={`./bin/argus score --user ${history.userId} --category ${history.categoryId} --amount 2500`}>No transactions stored for this pair yet; its baseline came from a fit or an import.</Empty>
        ) : (
          <>
            <Chart id="pair-amounts" title={`Amounts of user ${history.userId} in category ${history.categoryId}`} data={amounts.data} series={amounts.series} bands={amounts.bands} anomalies={amounts.anomalies} yLabel="amount" />
            <p class="muted small">
              Each dot is a transaction (at the time it happened, else when it was scored); the band is the baseline mean ± {history.threshold} standard deviations that
              transaction was scored against; red dots are anomalies. The band is absent while the baseline has fewer than {history.minSamples} samples.
              {unverified > 0 && ` ${unverified} point${unverified === 1 ? '' : 's'} could not be matched to the stored z-score exactly (a fit or import changed the baseline there).`}
            </p>
          </>
        )}
      </Section>
      <Section title="Baseline history">
        {baselines.data[0].length === 0 ? (
          <Empty>No baseline history: the pair has no baseline yet.</Empty>
        ) : (
          <Chart id="pair-baseline" title={`Baseline history of user ${history.userId} in category ${history.categoryId}`} data={baselines.data} series={baselines.series} height={220} />
        )}
      </Section>
      <Section title="Anomalies of this pair">
        {flagged.length === 0 ? (
          <Empty>None of the transactions shown is anomalous.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="data cards" data-table="pair-anomalies">
              <TableHead columns={['Scored', 'Amount', 'z-score', 'Baseline before', 'Alert', 'Workflow']} numeric={['Amount', 'z-score']} />
              <tbody>
                {flagged.map((p) => (
                  <tr key={p.transactionId} data-transaction-id={p.transactionId}>
                    <td data-label="Scored">
                      <Time value={p.createdAt} />
                    </td>
                    <td data-label="Amount" class="num">
                      {formatNumber(p.amount)}
                    </td>
                    <td data-label="z-score" class="num">
                      {formatNumber(p.zScore)}
                    </td>
                    <td data-label="Baseline before">{p.baselineBefore ? `${formatNumber(p.baselineBefore.mean)} ± ${formatNumber(p.baselineBefore.stdDev)} (n = ${p.baselineBefore.sampleCount})` : '—'}</td>
                    <td data-label="Alert">
                      <StatusBadge status={p.alertStatus} />
                    </td>
                    <td data-label="Workflow">
                      <ExternalLink href={p.workflow.url}>{shortId(p.workflow.workflowId, 28)}</ExternalLink>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

export function PairPage({ params }: { params: URLSearchParams }) {
  const user = params.get('user') ?? '';
  const category = params.get('category') ?? '';
  const chosen = /^\d+$/.test(user) && /^\d+$/.test(category);
  const [loaded, reload] = useLoad(
    (signal) => (chosen ? getJson(`${API}/dashboard/pairs/${user}/${category}`, pairHistorySchema, { limit: 1000 }, signal) : Promise.resolve(null)),
    `${user}/${category}`,
  );
  return (
    <>
      <p class="lede">A user's transactions in one category over time, with the baseline they were scored against.</p>
      <PairPicker user={user} category={category} />
      {!chosen ? (
        <Empty>
          Enter a user and a category, or pick one from <a href={href('anomalies')}>Anomalies</a> or <a href={href('risk')}>At risk</a>.
        </Empty>
      ) : (
        <LoadState loaded={loaded} what={`user ${user}, category ${category}`} retry={reload}>
          {(history) => (history ? <PairView history={history} /> : null)}
        </LoadState>
      )}
    </>
  );
}
