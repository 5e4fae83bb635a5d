import { z } from 'zod';
import type { Dimension } from './dimensions.js';
import { unsupportedQuery } from './errors.js';

export const metricNames = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
  'conversions',
  'revenue',
] as const;
export type Metric = (typeof metricNames)[number];

export const metricSchema = z.enum(metricNames);

/** Comma-separated metric names, as in `metrics=pageviews,visitors`. */
export const metricListSchema = z
  .string()
  .transform((s) => s.split(',').map((m) => m.trim()))
  .pipe(z.array(metricSchema).min(1).max(metricNames.length))
  .transform((ms) => [...new Set(ms)]);

/** Metrics that come from visits (sessions), which only the batch layer computes. */
export const sessionMetrics: readonly Metric[] = [
  'visits',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
];

const ratio = (num: string, den: string, scale: number, digits: number) =>
  `round(if(${den} = 0, 0, ${scale} * ${num} / ${den}), ${digits})`;

/**
 * Metrics over hourly_merged rows. Visitors merge sketches (never add hourly counts);
 * views_per_visit divides only the batch hours' pageviews by the visits, since live hours have
 * no visits. Conversions are not here: they come from the event_name rows of dimensions_merged.
 */
export const hourlyMetricSql: Partial<Record<Metric, string>> = {
  visitors: 'uniqCombined64Merge(visitors_state)',
  visits: 'sum(visits)',
  pageviews: 'sum(pageviews)',
  views_per_visit: ratio("sumIf(pageviews, source = 'batch')", 'sum(visits)', 1, 2),
  bounce_rate: ratio('sum(bounces)', 'sum(visits)', 100, 1),
  visit_duration: ratio('sum(visit_duration_seconds)', 'sum(visits)', 1, 0),
  events: 'sum(events)',
  revenue: 'toFloat64(sum(revenue))',
};

/** Metrics over dimensions_merged rows of one dimension. */
const dimensionSql: Partial<Record<Metric, string>> = {
  visitors: 'uniqCombined64Merge(visitors_state)',
  visits: 'sum(visits)',
  pageviews: 'sum(pageviews)',
  bounce_rate: ratio('sum(bounces)', 'sum(visits)', 100, 1),
  events: 'sum(events)',
  conversions: "uniqCombined64MergeIf(visitors_state, value != 'pageview')",
  revenue: 'toFloat64(sum(revenue))',
};

/**
 * Conversions without a filter: the visitors who sent any custom event (an event_name other than
 * pageview), merged over the range, so a visitor who converts in two hours counts once.
 */
export const conversionsSql = dimensionSql.conversions!;

/**
 * Which metrics the rows of a dimension can give. The batch layer puts visits and bounces only on
 * entry_page and exit_page rows (and nothing else there), every other dimension has events,
 * pageviews, visitors and revenue; conversions are the visitors of custom events, so they need
 * event_name rows.
 */
export function dimensionMetrics(dimension: Dimension): Metric[] {
  if (dimension === 'entry_page' || dimension === 'exit_page') return ['visits', 'bounce_rate'];
  const base: Metric[] = ['visitors', 'pageviews', 'events', 'revenue'];
  return dimension === 'event_name' ? [...base, 'conversions'] : base;
}

export function dimensionMetricSql(metric: Metric, dimension: Dimension, path = 'metrics'): string {
  const allowed = dimensionMetrics(dimension);
  if (!allowed.includes(metric)) {
    throw unsupportedQuery(
      path,
      `${metric} is not available for the dimension ${dimension} (available: ${allowed.join(', ')})`,
    );
  }
  return dimensionSql[metric]!;
}

/** Output column alias of a metric; prefixed so an alias never shadows a column of the same name. */
export const alias = (metric: Metric) => `m_${metric}`;
