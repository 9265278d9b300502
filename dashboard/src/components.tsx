import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { AccessDenied, ApiError } from './api';
import { type PageName, href, paramsObject } from './router';

/** A request's state as a page draws it. */
export type Loaded<T> = { state: 'loading'; data?: T } | { state: 'ok'; data: T } | { state: 'error'; error: string; data?: T };

/**
 * Loads with `load` whenever `key` changes (the route's parameters, say), and again every `pollMs` while
 * `poll` says so (a running batch). A refused key is not an error here: the shell swaps in the key form.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  options: { pollMs?: number | ((data: T) => number | null); poll?: (data: T) => boolean } = {},
): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  const pollRef = useRef(options);
  pollRef.current = options;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setResult((previous) => ({ state: 'loading', data: previous.data }));
    latest
      .current(controller.signal)
      .then((data) => {
        if (controller.signal.aborted) return;
        setResult({ state: 'ok', data });
        const { pollMs, poll } = pollRef.current;
        const delay = typeof pollMs === 'function' ? pollMs(data) : pollMs;
        if (delay && poll?.(data)) timer = setTimeout(() => setTick((t) => t + 1), delay);
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted || (err instanceof DOMException && err.name === 'AbortError')) return;
        if (err instanceof AccessDenied) return;
        setResult((previous) => ({ state: 'error', error: err instanceof ApiError || err instanceof Error ? err.message : String(err), data: previous.data }));
      });
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return [result, reload];
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="error-box" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** What to do when there is nothing to show: a sentence and, where one helps, the command that fills it. */
export function Empty({ children, command }: { children: ComponentChildren; command?: string | string[] }) {
  const commands = command === undefined ? [] : Array.isArray(command) ? command : [command];
  return (
    <div class="empty" data-empty>
      <p>{children}</p>
      {commands.length > 0 && (
        <pre>
          <code>{commands.join('\n')}</code>
        </pre>
      )}
    </div>
  );
}

export function LoadState<T>({ loaded, what, retry, children }: { loaded: Loaded<T>; what: string; retry?: () => void; children: (data: T) => ComponentChildren }) {
  if (loaded.data !== undefined) {
    return (
      <>
        {loaded.state === 'error' && <ErrorBox message={loaded.error} retry={retry} />}
        {children(loaded.data)}
      </>
    );
  }
  if (loaded.state === 'error') return <ErrorBox message={loaded.error} retry={retry} />;
  return <Loading what={what} />;
}

export type SortDirection = 'asc' | 'desc';

/** Newest and older links of a cursor-paged list; the cursor is in the route, so every page can be bookmarked. */
export function Pager({ page, params, nextCursor }: { page: PageName; params: URLSearchParams; nextCursor?: string | null }) {
  return (
    <nav class="pager" aria-label="Pages">
      {params.get('cursor') && (
        <a class="button secondary" href={href(page, { ...paramsObject(params), cursor: undefined })}>
          ← Newest
        </a>
      )}
      {nextCursor && (
        <a class="button secondary" href={href(page, { ...paramsObject(params), cursor: nextCursor })} data-next-page>
          Older →
        </a>
      )}
    </nav>
  );
}

/** A data table's header row; the columns named in `numeric` are right-aligned, as their figures are. */
export function TableHead({ columns, numeric = [] }: { columns: string[]; numeric?: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((label) => (
          <th key={label} scope="col" class={numeric.includes(label) ? 'num' : undefined}>
            {label}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A column header that sorts: a real button, so Tab and Enter reach it; aria-sort says the order. */
export function SortHeader({ label, column, sort, direction, onSort, numeric = false }: { label: string; column: string; sort: string; direction: SortDirection; onSort: (column: string, direction: SortDirection) => void; numeric?: boolean }) {
  const active = sort === column;
  const next: SortDirection = active && direction === 'desc' ? 'asc' : 'desc';
  return (
    <th scope="col" class={numeric ? 'num' : undefined} aria-sort={active ? (direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" class="sort" onClick={() => onSort(column, next)} data-sort={column}>
        {label}
        <span aria-hidden="true" class="sort-mark">
          {active ? (direction === 'asc' ? ' ▲' : ' ▼') : ' ↕'}
        </span>
      </button>
    </th>
  );
}

const STATUS_TEXT: Record<string, string> = {
  none: 'no alert',
  pending: 'pending',
  queued: 'queued',
  sent: 'sent',
  failed: 'failed',
  dead_lettered: 'dead-lettered',
  retrying: 'retrying',
  running: 'running',
  completed: 'completed',
  cancelled: 'cancelled',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge badge-${status.replace(/[^a-z_-]/gi, '')}`} data-status={status}>
      {STATUS_TEXT[status] ?? status.replace(/_/g, ' ')}
    </span>
  );
}

export function Stat({ label, value, hint, name }: { label: string; value: ComponentChildren; hint?: string; name?: string }) {
  return (
    <div class="stat" data-stat={name}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        {actions && <div class="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** A link out (the Temporal UI): a new tab, said so to screen readers. */
export function ExternalLink({ href, children }: { href: string; children: ComponentChildren }) {
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
      <span class="visually-hidden"> (opens in a new tab)</span>
      <span aria-hidden="true"> ↗</span>
    </a>
  );
}
