/**
 * Times in the viewer's time zone, UTC on hover (title); numbers in the viewer's locale.
 */

const localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const localDayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const VIEWER_TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

export function utcText(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '').replace('Z', '')} UTC`;
}

function parse(value: string | number | Date): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A <time> in the viewer's zone; hovering shows UTC. */
export function Time({ value, day = false }: { value: string | number | Date | null | undefined; day?: boolean }) {
  if (value === null || value === undefined || value === '') return <span class="muted">—</span>;
  const date = parse(value);
  if (!date) return <span>{String(value)}</span>;
  return (
    <time dateTime={date.toISOString()} title={utcText(date)} data-utc={date.toISOString()}>
      {(day ? localDayFormat : localFormat).format(date)}
    </time>
  );
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export function formatInteger(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value);
}

export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return digits === 2 ? decimal.format(value) : new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(value);
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : percent.format(value);
}

/** ISO date (yyyy-mm-dd) in the viewer's zone, for date inputs. */
export function localDateInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A date input's day (viewer's zone) as the UTC instant its day starts, or ends (exclusive). */
export function dayStartIso(day: string, endExclusive = false): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return undefined;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + (endExclusive ? 1 : 0));
  return date.toISOString();
}
