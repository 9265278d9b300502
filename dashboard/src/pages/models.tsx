import { type ModelRow, modelsPageSchema } from '../../../contracts/dashboard';
import { API, getJson } from '../api';
import { Empty, LoadState, Section, TableHead, useLoad } from '../components';
import { Time, formatInteger, formatNumber } from '../format';
import { href, navigate, paramsObject } from '../router';

function compactJson(value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? '';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A detection's scores, numbers rounded for reading: `score 7.94, stats z_scores [7.88, 7.94]`. */
function scoreText(scores: unknown, depth = 0): string {
  if (typeof scores === 'number') return formatNumber(scores, 3);
  if (Array.isArray(scores)) return `[${scores.slice(0, 6).map((v) => scoreText(v, depth + 1)).join(', ')}${scores.length > 6 ? ', …' : ''}]`;
  if (scores && typeof scores === 'object' && depth < 2) {
    return Object.entries(scores as Record<string, unknown>)
      .map(([name, value]) => `${name} ${scoreText(value, depth + 1)}`)
      .join(depth === 0 ? ', ' : ' ');
  }
  return compactJson(scores, 40);
}

function ModelCard({ model }: { model: ModelRow }) {
  return (
    <article class="model" data-model={`${model.tenant}/${model.runId}`} aria-label={`model ${model.tenant} / ${model.runId}`}>
      <h3>
        {model.tenant} / {model.runId} <span class="badge">{model.kind}</span>
      </h3>
      <dl class="facts">
        <div>
          <dt>trained on</dt>
          <dd>{formatInteger(model.trainedRows)} rows</dd>
        </div>
        <div>
          <dt>columns</dt>
          <dd>{formatInteger(model.dims)}</dd>
        </div>
        <div>
          <dt>threshold</dt>
          <dd>{model.threshold === null ? '—' : formatNumber(model.threshold, 4)}</dd>
        </div>
        <div>
          <dt>version</dt>
          <dd>{model.version}</dd>
        </div>
        <div>
          <dt>trained</dt>
          <dd>
            <Time value={model.trainedAt} />
          </dd>
        </div>
        <div>
          <dt>created</dt>
          <dd>
            <Time value={model.createdAt} />
          </dd>
        </div>
        <div class="wide">
          <dt>parameters</dt>
          <dd>
            <code>{compactJson(model.params, 200)}</code>
          </dd>
        </div>
      </dl>
      {model.recentDetections.length === 0 ? (
        <p class="muted small">
          No tracked detections yet: <code>./bin/argus model detect {model.tenant} {model.runId} --data rows.csv</code>
        </p>
      ) : (
        <div class="table-wrap">
          <table class="data compact" data-table="detections">
            <caption>Recent tracked detections</caption>
            <TableHead columns={['When', 'Detection', 'Row', 'Input', 'Scores', 'Anomaly']} numeric={['Row']} />
            <tbody>
              {model.recentDetections.map((d) => (
                <tr key={d.resultId} data-anomaly={d.isAnomaly ? 'true' : 'false'}>
                  <td>
                    <Time value={d.createdAt} />
                  </td>
                  <td>
                    <code>{d.detectionId.slice(0, 12)}</code> v{d.modelVersion}
                  </td>
                  <td class="num">{d.row}</td>
                  <td>
                    <code>{compactJson(d.input, 60)}</code>
                  </td>
                  <td class="small">{scoreText(d.scores)}</td>
                  <td>{d.isAnomaly ? <span class="badge badge-failed">anomaly</span> : <span class="muted">no</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

export function ModelsPage({ params }: { params: URLSearchParams }) {
  const tenant = params.get('tenant') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const [loaded, reload] = useLoad((signal) => getJson(`${API}/dashboard/models`, modelsPageSchema, { tenant, cursor, recent: 5, limit: 50 }, signal), `${tenant}/${cursor}`);
  return (
    <>
      <p class="lede">Each tenant's models: kind, parameters, what they were trained on, and their latest tracked detections.</p>
      <LoadState loaded={loaded} what="models" retry={reload}>
        {(page) => (
          <>
            {page.tenants.length > 0 && (
              <form class="filters" aria-label="Tenant" onSubmit={(e) => e.preventDefault()}>
                <label>
                  Tenant
                  <select value={tenant} onChange={(e) => navigate('models', { tenant: (e.currentTarget as HTMLSelectElement).value }, true)}>
                    <option value="">all tenants</option>
                    {page.tenants.map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                </label>
              </form>
            )}
            <Section title={tenant ? `Models of ${tenant}` : 'Models'}>
              {page.items.length === 0 ? (
                <Empty command="./bin/argus model fit acme run-1 --kind iforest --data train.csv">{tenant ? `Tenant ${tenant} has no models.` : 'No models yet: fit one and it shows here.'}</Empty>
              ) : (
                <div class="models">
                  {page.items.map((model) => (
                    <ModelCard key={`${model.tenant}/${model.runId}`} model={model} />
                  ))}
                </div>
              )}
              {page.nextCursor && (
                <nav class="pager" aria-label="Pages">
                  <a class="button secondary" href={href('models', { ...paramsObject(params), cursor: page.nextCursor })}>
                    More models →
                  </a>
                </nav>
              )}
            </Section>
          </>
        )}
      </LoadState>
    </>
  );
}
