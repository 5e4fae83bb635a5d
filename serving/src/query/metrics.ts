import { z } from 'zod';
import { type Dimension, visitDimensions } from './dimensions.js';
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

/**
 * Metrics only the batch layer computes: visits (sessions) and conversions (goals). Hours from the
 * watermark on have none of them.
 */
export const batchOnlyMetrics: readonly Metric[] = [
  'visits',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'conversions',
];

const ratio = (num: string, den: string, scale: number, digits: number) =>
  `round(if(${den} = 0, 0, ${scale} * ${num} / ${den}), ${digits})`;

/**
 * Metrics over hourly_merged rows. Visitors merge sketches (never add hourly counts);
 * views_per_visit divides only the batch hours' pageviews by the visits, since live hours have
 * no visits. Conversions are not here: they come from the goal rows of dimensions_merged.
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

/**
 * Visitors of a one-hour bucket (sql/0070): the batch's exact count of the hour (its committed run
 * has one row per site and hour), or the speed layer's sketches merged. Only for buckets of one
 * hour without filters; anything wider merges visitors_state. The merge skips the batch rows, whose
 * live_visitors_state is empty: merging an empty sketch per batch row cost 3-11 % of the query's
 * CPU (1 to 25 sites).
 */
export const hourBucketVisitorsSql =
  "sum(hour_visitors) + uniqCombined64MergeIf(live_visitors_state, source = 'speed')";

/** Metrics over dimensions_merged rows of one dimension. */
const dimensionSql: Partial<Record<Metric, string>> = {
  visitors: 'uniqCombined64Merge(visitors_state)',
  visits: 'sum(visits)',
  pageviews: 'sum(pageviews)',
  views_per_visit: ratio("sumIf(pageviews, source = 'batch')", 'sum(visits)', 1, 2),
  bounce_rate: ratio('sum(bounces)', 'sum(visits)', 100, 1),
  events: 'sum(events)',
  conversions: 'uniqCombined64Merge(visitors_state)',
  revenue: 'toFloat64(sum(revenue))',
};

/**
 * Conversions: the visitors who reached a goal, from the batch layer's `goal` rows (one per goal
 * and hour), merged over the range, so a visitor who converts in two hours or on two goals counts
 * once. The speed layer knows no goals: live hours have no conversions.
 */
export const conversionsSql = dimensionSql.conversions!;

/**
 * Which metrics the rows of a dimension can give. Every dimension has visitors, pageviews, events
 * and revenue; the visit dimensions (entry and exit page, acquisition) also visits, bounces and
 * views per visit (batch hours only); goal rows' visitors are the conversions. Visit durations are
 * not kept per dimension.
 */
export function dimensionMetrics(dimension: Dimension): Metric[] {
  const base: Metric[] = ['visitors', 'pageviews', 'events', 'revenue'];
  if (visitDimensions.includes(dimension)) return [...base, 'visits', 'bounce_rate', 'views_per_visit'];
  return dimension === 'goal' ? [...base, 'conversions'] : base;
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
