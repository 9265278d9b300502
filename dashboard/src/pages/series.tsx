import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { type SeriesDetail, seriesDetailSchema, seriesListSchema } from '../../../contracts/dashboard';
import { API, getJson } from '../api';
import { COLORS, Chart, dots, line } from '../chart';
import { Empty, LoadState, Section, Stat, StatusBadge, TableHead, useLoad } from '../components';
import { Time, formatInteger, formatNumber } from '../format';
import { href, paramsObject } from '../router';
import { shortId } from './anomalies';

function useSeriesChart(detail: SeriesDetail) {
  return useMemo(() => {
    const { points } = detail;
    const x = points.map((p) => Date.parse(p.timestamp) / 1000);
    const data: uPlot.AlignedData = [
      x,
      points.map((p) => p.value),
      points.map((p) => p.expectedValue),
      points.map((p) => p.expectedValue + p.upperMargin),
      points.map((p) => p.expectedValue - p.lowerMargin),
      points.map((p) => (p.isAnomaly ? p.value : null)),
    ];
    const series: uPlot.Series[] = [
      line('value', COLORS.value, { width: 1.5, points: { show: points.length <= 200, size: 4, fill: COLORS.value, stroke: COLORS.value } }),
      line('expected', COLORS.expected, { dash: [5, 3] }),
      line('expected + upper margin', COLORS.bandEdge, { width: 1 }),
      line('expected − lower margin', COLORS.bandEdge, { width: 1 }),
      dots('anomaly', COLORS.anomaly, 11),
    ];
    const bands: uPlot.Band[] = [{ series: [3, 4], fill: COLORS.band }];
    const markers = points.filter((p) => p.isChangePoint).map((p) => Date.parse(p.timestamp) / 1000);
    return { data, series, bands, markers, anomalies: points.filter((p) => p.isAnomaly).length };
  }, [detail]);
}

function SeriesView({ detail, params }: { detail: SeriesDetail; params: URLSearchParams }) {
  const chart = useSeriesChart(detail);
  const anomalies = detail.points.filter((p) => p.isAnomaly);
  const changePoints = detail.points.filter((p) => p.isChangePoint);
  if (detail.points.length === 0) return <Empty>This series has no stored points.</Empty>;
  return (
    <>
      <div class="stats">
        <Stat name="points" label="points shown" value={formatInteger(detail.points.length)} hint={detail.nextCursor ? 'more after these' : undefined} />
        <Stat name="anomalies" label="anomalies" value={formatInteger(anomalies.length)} />
        <Stat name="change-points" label="change points" value={detail.changePointsUnavailable ? '—' : formatInteger(changePoints.length)} hint={detail.changePointsUnavailable ?? undefined} />
        <Stat name="period" label="period (points)" value={detail.period > 0 ? formatInteger(detail.period) : 'none'} />
      </div>
      <Chart id="series" title={`Series ${detail.seriesId}`} data={chart.data} series={chart.series} bands={chart.bands} markers={chart.markers} anomalies={chart.anomalies} height={340} yLabel="value" />
      <p class="muted small">
        The line is the series; the dashed line its expected value; the shaded band expected − lower margin to expected + upper margin (Azure Anomaly Detector's
        picture); red dots are anomalies; dashed purple verticals are change points.
      </p>
      {detail.nextCursor && (
        <p>
          <a class="button secondary" href={href('series', { ...paramsObject(params), cursor: detail.nextCursor })}>
            Next points →
          </a>
        </p>
      )}
      <div class="two-columns">
        <Section title="Anomalies">
          {anomalies.length === 0 ? (
            <Empty>No anomalies in these points.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="data compact" data-table="series-anomalies">
                <TableHead columns={['Time', 'Value', 'Expected', 'Direction', 'Severity']} numeric={['Value', 'Expected', 'Severity']} />
                <tbody>
                  {anomalies.map((p) => (
                    <tr key={p.timestamp} data-timestamp={p.timestamp}>
                      <td>
                        <Time value={p.timestamp} />
                      </td>
                      <td class="num">{formatNumber(p.value)}</td>
                      <td class="num">{formatNumber(p.expectedValue)}</td>
                      <td>{p.isPositiveAnomaly ? 'above' : p.isNegativeAnomaly ? 'below' : '—'}</td>
                      <td class="num">{formatNumber(p.severity, 3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Section>
        <Section title="Change points">
          {detail.changePointsUnavailable ? (
            <Empty>{detail.changePointsUnavailable}</Empty>
          ) : changePoints.length === 0 ? (
            <Empty>No change points in these points.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="data compact" data-table="series-change-points">
                <TableHead columns={['Time', 'Value', 'Confidence']} numeric={['Value', 'Confidence']} />
                <tbody>
                  {changePoints.map((p) => (
                    <tr key={p.timestamp} data-timestamp={p.timestamp}>
                      <td>
                        <Time value={p.timestamp} />
                      </td>
                      <td class="num">{formatNumber(p.value)}</td>
                      <td class="num">{formatNumber(p.changeConfidence, 3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Section>
      </div>
    </>
  );
}

function SeriesDetailSection({ seriesId, params }: { seriesId: string; params: URLSearchParams }) {
  const cursor = params.get('cursor') ?? undefined;
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/series/${encodeURIComponent(seriesId)}`, seriesDetailSchema, { cursor, limit: 2000 }, signal), `${seriesId}/${cursor}`);
  return (
    <Section title={`Series ${seriesId}`} actions={<a href={href('series')}>All series</a>}>
      <LoadState loaded={loaded} what={`series ${seriesId}`} retry={reload}>
        {(detail) => <SeriesView detail={detail} params={params} />}
      </LoadState>
    </Section>
  );
}

function SeriesList({ selected }: { selected: string | null }) {
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/series`, seriesListSchema, { limit: 50 }, signal), 'series');
  return (
    <Section title="Stored series">
      <LoadState loaded={loaded} what="series" retry={reload}>
        {(list) =>
          list.items.length === 0 ? (
            <Empty command={'./bin/argus ingest series.csv   # "date";"value" or timestamp,value'}>No time series stored yet: ingest a series file and its points, expected values and anomalies appear here.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="data cards" data-table="series-list">
                <TableHead columns={['Series', 'Batch', 'Points', 'Anomalies', 'Stored']} numeric={['Points', 'Anomalies']} />
                <tbody>
                  {list.items.map((s) => (
                    <tr key={s.seriesId} data-series-id={s.seriesId} class={selected === s.seriesId ? 'selected' : undefined}>
                      <td data-label="Series">
                        <a href={href('series', { id: s.seriesId })} aria-current={selected === s.seriesId ? 'true' : undefined}>
                          {shortId(s.seriesId, 40)}
                        </a>
                      </td>
                      <td data-label="Batch">
                        <a href={href('batches', { id: s.batchId })}>{shortId(s.batchId)}</a> <StatusBadge status={s.status} />
                      </td>
                      <td data-label="Points" class="num">
                        {formatInteger(s.points)}
                      </td>
                      <td data-label="Anomalies" class="num">
                        {formatInteger(s.anomalies)}
                      </td>
                      <td data-label="Stored">
                        <Time value={s.createdAt} />
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

export function SeriesPage({ params }: { params: URLSearchParams }) {
  const selected = params.get('id');
  return (
    <>
      <p class="lede">A stored series with its expected values, margins, anomalies and change points.</p>
      {selected && <SeriesDetailSection seriesId={selected} params={params} />}
      <SeriesList selected={selected} />
    </>
  );
}
