/** Date ranges in the site's time zone, as the query API takes them (`from` inclusive, `to` exclusive). */

export const rangeKeys = [
  'today',
  'yesterday',
  '24h',
  '7d',
  '30d',
  '90d',
  'mtd',
  'lastmonth',
  'custom',
] as const;
export type RangeKey = (typeof rangeKeys)[number];

export const rangeLabels: Record<RangeKey, string> = {
  today: 'Today',
  yesterday: 'Yesterday',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
  mtd: 'Month to date',
  lastmonth: 'Last month',
  custom: 'Custom range',
};

export interface Range {
  from: string;
  to: string;
  /** Hour buckets for a day or two, day buckets beyond. */
  interval: 'hour' | 'day';
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The calendar date of an instant in a zone, YYYY-MM-DD. */
export function dateInZone(ms: number, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function addMonths(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

const isDate = (s: string | undefined): s is string =>
  !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

/**
 * The API range of a choice. `customTo` is the last day shown (inclusive), as a person picks it.
 * Undefined for a custom range without two valid dates in order.
 */
export function resolveRange(
  key: RangeKey,
  tz: string,
  now: number,
  customFrom?: string,
  customTo?: string,
): Range | undefined {
  const today = dateInZone(now, tz);
  const days = (from: string, to: string): Range => ({
    from,
    to,
    interval: Date.parse(to) - Date.parse(from) <= 2 * DAY_MS ? 'hour' : 'day',
  });
  switch (key) {
    case 'today':
      return days(today, addDays(today, 1));
    case 'yesterday':
      return days(addDays(today, -1), today);
    case '24h': {
      const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
      return {
        from: new Date(end - DAY_MS).toISOString(),
        to: new Date(end).toISOString(),
        interval: 'hour',
      };
    }
    case '7d':
      return days(addDays(today, -6), addDays(today, 1));
    case '30d':
      return days(addDays(today, -29), addDays(today, 1));
    case '90d':
      return days(addDays(today, -89), addDays(today, 1));
    case 'mtd':
      return days(`${today.slice(0, 8)}01`, addDays(today, 1));
    case 'lastmonth': {
      const first = `${today.slice(0, 8)}01`;
      return days(addMonths(first, -1), first);
    }
    case 'custom':
      if (!isDate(customFrom) || !isDate(customTo) || customTo < customFrom) return undefined;
      return days(customFrom, addDays(customTo, 1));
  }
}
