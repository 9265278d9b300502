const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Epoch milliseconds of an ISO-8601 date or date-time (`2023-01-05`, `2023-01-05T10:00`, `…:00.5+02:00`,
 * a space for the T), or null. Without an offset the time is UTC, not the machine's zone, so the same
 * file means the same instants everywhere. Impossible dates (`2023-02-30`) are null rather than rolled over.
 */
export function parseIsoTimestamp(text: string): number | null {
  const m = ISO_8601.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 24 || minute > 59 || second > 59) return null;
  const ms = fraction === '' ? 0 : Number(`0.${fraction}`) * 1000;
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  const utc = check.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
  if (hour === 24 && (minute !== 0 || second !== 0 || ms !== 0)) return null;
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z2 = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMinutes = (z2[1] === '-' ? -1 : 1) * (Number(z2[2]) * 60 + Number(z2[3] ?? 0));
  }
  return utc - offsetMinutes * 60_000;
}
