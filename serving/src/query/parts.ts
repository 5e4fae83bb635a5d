import type { Dimension } from './dimensions.js';
import { unsupportedQuery } from './errors.js';
import { type Filter, filterConditions, filterDimension } from './filters.js';
import { alias, conversionsSql, dimensionMetricSql, hourlyMetricSql, type Metric } from './metrics.js';

/** One aggregation over one merged table; a query joins the parts it needs. */
export interface Part {
  table: 'hourly_merged' | 'dimensions_merged' | 'speed_minute';
  timeColumn: 'hour' | 'minute';
  where: string[];
  metrics: { metric: Metric; sql: string }[];
}

/**
 * Where each metric comes from. Without filters: hourly_merged, and conversions from the
 * event_name rows of dimensions_merged. With filters (all on one dimension): the rows of that
 * dimension in dimensions_merged, for the metrics those rows have.
 */
export function planParts(
  metrics: Metric[],
  filters: Filter[],
  params: Record<string, unknown>,
  breakdown?: Dimension,
): Part[] {
  const dimension = filterDimension(filters, breakdown);
  if (dimension) {
    params.dimension = dimension;
    return [
      {
        table: 'dimensions_merged',
        timeColumn: 'hour',
        where: ['dimension = {dimension:String}', ...filterConditions(filters, params)],
        metrics: metrics.map((metric) => ({ metric, sql: dimensionMetricSql(metric, dimension) })),
      },
    ];
  }
  const parts: Part[] = [];
  const hourly = metrics.filter((m) => m !== 'conversions');
  if (hourly.length > 0) {
    parts.push({
      table: 'hourly_merged',
      timeColumn: 'hour',
      where: [],
      metrics: hourly.map((metric) => ({ metric, sql: hourlyMetricSql[metric]! })),
    });
  }
  if (metrics.includes('conversions')) {
    parts.push({
      table: 'dimensions_merged',
      timeColumn: 'hour',
      where: ["dimension = 'goal'"],
      metrics: [{ metric: 'conversions', sql: conversionsSql }],
    });
  }
  return parts;
}

const minuteMetricSql: Partial<Record<Metric, string>> = {
  visitors: 'uniqCombined64Merge(visitors)',
  pageviews: 'sum(pageviews)',
  events: 'sum(events)',
};

/** Minute buckets come from speed_minute alone: live numbers, three days kept, no dimensions. */
export function planMinuteParts(metrics: Metric[], filters: Filter[]): Part[] {
  if (filters.length > 0) throw unsupportedQuery('filters', 'the minute interval has no filters');
  return [
    {
      table: 'speed_minute',
      timeColumn: 'minute',
      where: [],
      metrics: metrics.map((metric) => {
        const sql = minuteMetricSql[metric];
        if (!sql) {
          throw unsupportedQuery(
            'metrics',
            `${metric} is not available by minute (available: ${Object.keys(minuteMetricSql).join(', ')})`,
          );
        }
        return { metric, sql };
      }),
    },
  ];
}

/** The SELECT of one part over [lo, hi] (inclusive unit starts), grouped by `bucket` if given. */
export function partSql(part: Part, lo: string, hi: string, bucket?: (column: string) => string): string {
  const t = part.timeColumn;
  const columns = part.metrics.map((m) => `${m.sql} AS ${alias(m.metric)}`);
  if (bucket) columns.unshift(`${bucket(t)} AS bucket`);
  return `SELECT ${columns.join(', ')}
    FROM ${part.table}
    WHERE site_id = {site:String} AND ${t} >= ${lo} AND ${t} <= ${hi}${part.where.map((w) => ` AND ${w}`).join('')}
    ${bucket ? 'GROUP BY bucket' : ''}`;
}

/** Reads the metric columns of a result row as numbers (ClickHouse sends 64-bit integers as strings). */
export function readMetrics(row: Record<string, unknown>, metrics: Metric[]): Record<Metric, number> {
  const out = {} as Record<Metric, number>;
  for (const m of metrics) out[m] = Number(row[alias(m)] ?? 0);
  return out;
}
