import { z } from 'zod';
import { type Dimension, fixedDimensions, isDimension } from './dimensions.js';
import { invalidQuery, unsupportedQuery } from './errors.js';
import { type Filter, filterOperators } from './filters.js';
import { type Metric, metricNames } from './metrics.js';
import { DAY_MS, formatInZone, type Interval, type TimeInput } from './time.js';

/**
 * Plausible's Stats API v2 names (https://plausible.io/docs/stats-api) mapped onto this service's
 * dimensions. Only what the rollups hold: no cities, regions, full referrers or hostnames.
 */
const v2Dimensions: Record<string, Dimension> = {
  'event:page': 'page',
  'event:name': 'event_name',
  'event:goal': 'goal',
  'visit:entry_page': 'entry_page',
  'visit:exit_page': 'exit_page',
  'visit:source': 'referrer_source',
  'visit:channel': 'channel',
  'visit:utm_source': 'utm_source',
  'visit:utm_medium': 'utm_medium',
  'visit:utm_campaign': 'utm_campaign',
  'visit:utm_content': 'utm_content',
  'visit:utm_term': 'utm_term',
  'visit:country': 'country',
  'visit:browser': 'browser',
  'visit:os': 'os',
  'visit:device': 'device',
};

const timeDimensions: Record<string, Interval> = {
  time: 'day',
  'time:minute': 'minute',
  'time:hour': 'hour',
  'time:day': 'day',
  'time:week': 'week',
  'time:month': 'month',
};

export const v2DimensionNames = [
  ...Object.keys(v2Dimensions),
  'event:props:<key>',
  ...Object.keys(timeDimensions),
];

/** A v2 dimension name as this service's dimension, or a 400 naming the supported ones. */
export function v2Dimension(name: string, path: string): Dimension {
  const mapped = v2Dimensions[name];
  if (mapped) return mapped;
  if (name.startsWith('event:props:')) {
    const dimension = `prop:${name.slice('event:props:'.length)}`;
    if (isDimension(dimension)) return dimension;
  }
  // The native names are accepted too, so the same filters work on both APIs.
  if ((fixedDimensions as readonly string[]).includes(name)) return name as Dimension;
  throw unsupportedQuery(
    path,
    `unknown or unsupported dimension ${name} (supported: ${v2DimensionNames.join(', ')})`,
  );
}

export function v2TimeDimension(name: string): Interval | undefined {
  return timeDimensions[name];
}

/** Metric names: this service's, plus Plausible's total_revenue for revenue. */
export const v2MetricSchema = z
  .enum([...metricNames, 'total_revenue'])
  .transform((m): Metric => (m === 'total_revenue' ? 'revenue' : m));

export const dateRangeShortcuts = [
  'day',
  '24h',
  '7d',
  '28d',
  '30d',
  '91d',
  'month',
  '6mo',
  '12mo',
  'year',
] as const;

const isoDateOrTime = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be YYYY-MM-DD or ISO 8601 with a time zone',
});

export const v2QuerySchema = z.strictObject({
  site_id: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9_.-]+$/, 'must be a site id or a domain'),
  metrics: z.array(v2MetricSchema).min(1).max(metricNames.length),
  date_range: z.union([z.enum(dateRangeShortcuts), z.tuple([isoDateOrTime, isoDateOrTime])], {
    error: `must be one of ${dateRangeShortcuts.join(', ')} or [from, to] (ISO 8601)`,
  }),
  dimensions: z.array(z.string().max(120)).max(2).default([]),
  filters: z
    .array(
      z.tuple([z.enum(filterOperators), z.string().max(120), z.array(z.string().max(1000)).min(1).max(50)]),
      {
        error: 'must be a list of [operator, dimension, [values]] (and/or/not groups are not supported)',
      },
    )
    .max(20)
    .default([]),
  order_by: z
    .array(z.tuple([z.string().max(120), z.enum(['asc', 'desc'])]))
    .max(1)
    .optional(),
  include: z
    .strictObject({
      imports: z.boolean().optional(),
      time_labels: z.boolean().optional(),
      total_rows: z.boolean().optional(),
    })
    .optional(),
  pagination: z
    .strictObject({
      limit: z.number().int().min(1).max(10_000).default(10_000),
      offset: z.number().int().min(0).max(10_000).default(0),
    })
    .optional(),
});
export type V2Query = z.infer<typeof v2QuerySchema>;

export function v2Filters(filters: V2Query['filters']): Filter[] {
  return filters.map(([op, dimension, values], i) => [op, v2Dimension(dimension, `filters.${i}.1`), values]);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function addMonths(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

/**
 * A v2 date_range as [from, to): shortcuts relative to today in the site's zone ("7d" is the 7
 * days before today, "month" this month up to today); a custom [from, to] includes its last day.
 */
export function v2DateRange(
  range: V2Query['date_range'],
  tz: string,
  now: number,
): { from: TimeInput; to: TimeInput } {
  const today = formatInZone(now, tz).slice(0, 10);
  const tomorrow = { date: addDays(today, 1) };
  if (Array.isArray(range)) {
    const [a, b] = range;
    const from: TimeInput = a.length === 10 ? { date: a } : { instant: Date.parse(a) };
    const to: TimeInput = b.length === 10 ? { date: addDays(b, 1) } : { instant: Date.parse(b) + 1000 };
    return { from, to };
  }
  switch (range) {
    case 'day':
      return { from: { date: today }, to: tomorrow };
    case '24h':
      return { from: { instant: now - DAY_MS }, to: { instant: now } };
    case '7d':
    case '28d':
    case '30d':
    case '91d':
      return { from: { date: addDays(today, -Number.parseInt(range, 10)) }, to: { date: today } };
    case 'month':
      return { from: { date: `${today.slice(0, 7)}-01` }, to: tomorrow };
    case '6mo':
      return { from: { date: addMonths(today, -5) }, to: tomorrow };
    case '12mo':
      return { from: { date: addMonths(today, -11) }, to: tomorrow };
    case 'year':
      return { from: { date: `${today.slice(0, 4)}-01-01` }, to: tomorrow };
  }
}

/** A bucket's label as Plausible writes it: dates for day/week/month, local date-times otherwise. */
export function v2TimeLabel(time: string, interval: Interval): string {
  return interval === 'minute' || interval === 'hour'
    ? time.slice(0, 19).replace('T', ' ')
    : time.slice(0, 10);
}

export function checkOrderBy(orderBy: V2Query['order_by'], allowed: string[]): void {
  for (const [i, [name]] of (orderBy ?? []).entries()) {
    if (!allowed.includes(name)) {
      throw invalidQuery(
        `order_by.${i}.0`,
        `can order by ${allowed.join(', ')} (a queried metric or dimension)`,
      );
    }
  }
}
