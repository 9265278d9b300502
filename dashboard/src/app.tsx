import { useEffect, useRef, useState } from 'preact/hooks';
import { type AccessState, accessState, checkAccess, forgetKey, onAccessChange, rememberKey, storedKey } from './api';
import { VIEWER_TIME_ZONE } from './format';
import { AlertsPage } from './pages/alerts';
import { AnomaliesPage } from './pages/anomalies';
import { BatchesPage } from './pages/batches';
import { ModelsPage } from './pages/models';
import { PairPage } from './pages/pair';
import { RiskPage } from './pages/risk';
import { SeriesPage } from './pages/series';
import { type PageName, type Route, href, useRoute } from './router';

const NAV: { page: PageName; label: string }[] = [
  { page: 'anomalies', label: 'Anomalies' },
  { page: 'pair', label: 'User × category' },
  { page: 'risk', label: 'At risk' },
  { page: 'batches', label: 'Batches' },
  { page: 'series', label: 'Time series' },
  { page: 'models', label: 'Models' },
  { page: 'alerts', label: 'Alerts' },
];

const TITLES: Record<PageName, string> = {
  anomalies: 'Anomalies',
  pair: 'One user and category over time',
  risk: 'Categories and users at risk',
  batches: 'Batches and re-score runs',
  series: 'Time series',
  models: 'Models',
  alerts: 'Alerts',
};

function useAccess(): AccessState {
  const [state, setState] = useState(accessState);
  useEffect(() => onAccessChange(setState), []);
  return state;
}

function KeyForm({ state }: { state: Extract<AccessState, { kind: 'needs-key' | 'refused' }> }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [state.kind]);
  const submit = (event: Event) => {
    event.preventDefault();
    const key = input.current?.value.trim() ?? '';
    if (key) rememberKey(key);
  };
  return (
    <section class="panel key-form" aria-labelledby="key-title" data-access={state.kind}>
      <h2 id="key-title">{state.kind === 'refused' ? 'Access refused' : 'API key needed'}</h2>
      <p class={state.kind === 'refused' ? 'refusal' : undefined} role={state.kind === 'refused' ? 'alert' : undefined}>
        {state.message}
      </p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <div class="row">
          <input id="api-key" ref={input} type="password" name="api-key" autocomplete="current-password" required spellcheck={false} />
          <button type="submit">Open the dashboard</button>
        </div>
        <p class="muted">
          The key the gateway was started with (<code>ARGUS_API_KEY</code>). It is kept in this tab's session storage only and sent
          as <code>x-functions-key</code>, as the API's other clients send it.
        </p>
      </form>
    </section>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'anomalies':
      return <AnomaliesPage params={route.params} />;
    case 'pair':
      return <PairPage params={route.params} />;
    case 'risk':
      return <RiskPage params={route.params} />;
    case 'batches':
      return <BatchesPage params={route.params} />;
    case 'series':
      return <SeriesPage params={route.params} />;
    case 'models':
      return <ModelsPage params={route.params} />;
    case 'alerts':
      return <AlertsPage />;
  }
}

export function App() {
  const route = useRoute();
  const access = useAccess();
  const [checked, setChecked] = useState(false);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    void checkAccess().finally(() => setChecked(true));
  }, []);

  useEffect(() => {
    document.title = `${TITLES[route.page]} · Argus`;
  }, [route.page]);

  const locked = access.kind === 'needs-key' || access.kind === 'refused';
  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ◉
          </span>{' '}
          Argus
        </div>
        <nav aria-label="Dashboard pages">
          <ul>
            {NAV.map(({ page, label }) => (
              <li key={page}>
                <a href={href(page)} aria-current={route.page === page ? 'page' : undefined} data-nav={page}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {storedKey() !== null && (
          <button type="button" class="link-button forget" onClick={forgetKey}>
            Forget key
          </button>
        )}
      </header>
      <main id="main" ref={main} tabIndex={-1} data-page={route.page}>
        <h1>{TITLES[route.page]}</h1>
        {!checked ? null : locked ? <KeyForm state={access} /> : <Page route={route} />}
      </main>
      <footer class="foot">
        Times are in your time zone ({VIEWER_TIME_ZONE}); hover one for UTC. Data from the gateway's <code>/api/dashboard</code> endpoints.
      </footer>
    </>
  );
}
