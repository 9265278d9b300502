import { useEffect, useState } from 'preact/hooks';

/**
 * Pages live in the URL's fragment (#/anomalies?user=399), so every view and filter can be bookmarked
 * and shared, and the gateway serves one file for all of them.
 */

export const PAGES = ['anomalies', 'pair', 'risk', 'batches', 'series', 'models', 'alerts'] as const;
export type PageName = (typeof PAGES)[number];

export interface Route {
  page: PageName;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [name, query = ''] = text.split('?', 2);
  const page = (PAGES as readonly string[]).includes(name) ? (name as PageName) : 'anomalies';
  return { page, params: new URLSearchParams(query) };
}

export function href(page: PageName, params: Record<string, string | number | undefined | null> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const query = search.toString();
  return `#/${page}${query ? `?${query}` : ''}`;
}

export function navigate(page: PageName, params: Record<string, string | number | undefined | null> = {}, replace = false): void {
  const target = href(page, params);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    window.addEventListener('popstate', update);
    return () => {
      window.removeEventListener('hashchange', update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** The params of the current route as a plain object (for forms that edit them). */
export function paramsObject(params: URLSearchParams): Record<string, string> {
  return Object.fromEntries(params.entries());
}
