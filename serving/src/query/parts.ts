import { runsBetween } from './batch-split.js';
import type { Dimension } from './dimensions.js';
import { unsupportedQuery } from './errors.js';
import { type Filter, filterConditions, filterDimension } from './filters.js';
import { alias, conversionsSql, dimensionMetricSql, hourlyMetricSql, type Metric } from './metrics.js';
import type { QueryContext } from './run.js';

/**
 * The Lambda merge of sql/0060 (hourly_merged_at, dimensions_merged_at), written into each query
 * rather than read through those parameterised views: hours before the watermark from the batch
 * rows of their committed run, hours from it on from the speed layer. The sides select the views'
 * columns, and a part's site, range and conditions go into each side.
 *
 * Why not the views: a parameterised view costs ClickHouse's analyzer time per query, and most of
 * all with the runs: with a 30-day range's 714 committed runs as its argument, one site's hourly
 * series took 63 ms of engine time through hourly_merged_at (30 ms of it analysis) and 24 ms
 * written out, the rows read the same (47,000; 100,000 sites, 2 M events, one connection, a
 * loaded machine). The views stay the analysts' merge (hourly_merged and dimensions_merged read
 * them); a change to the merge rule changes both.
 */
const merges = {
  hourly: {
    batch: `SELECT site_id, hour, 'batch' AS source, pageviews, events, visitors_state, visits, bounces,
      visit_duration_seconds, revenue FROM batch_hourly`,
    speed: `SELECT site_id, hour, 'speed' AS source, pageviews, events, visitors AS visitors_state,
      toUInt64(0) AS visits, toUInt64(0) AS bounces, toUInt64(0) AS visit_duration_seconds, revenue FROM speed_hourly`,
  },
  dimensions: {
    batch: `SELECT site_id, dimension, hour, value, 'batch' AS source, pageviews, events, visitors_state, visits,
      bounces, revenue FROM batch_dimensions_hourly`,
    speed: `SELECT site_id, dimension, hour, value, 'speed' AS source, pageviews, events, visitors AS visitors_state,
      toUInt64(0) AS visits, toUInt64(0) AS bounces, revenue FROM speed_dimensions`,
  },
};
const watermark = "toDateTime({watermark:UInt32}, 'UTC')";

/**
 * The FROM and WHERE of a part's rows: the merge split at {watermark} and {runs}, or the speed
 * layer's minutes.
 */
function rowsSql(table: Part['table'], conditions: string[]): string {
  const where = (extra: string[]) => [...conditions, ...extra].join(' AND ');
  if (table === 'speed_minute') return `speed_minute WHERE ${where([])}`;
  const merge = merges[table];
  return `(${merge.batch} WHERE ${where([`hour < ${watermark}`, 'run_id IN {runs:Array(UUID)}'])}
    UNION ALL ${merge.speed} WHERE ${where([`hour >= ${watermark}`])})`;
}

/** One aggregation over one merged table; a query joins the parts it needs. */
export interface Part {
  table: keyof typeof merges | 'speed_minute';
  timeColumn: 'hour' | 'minute';
  where: string[];
  metrics: { metric: Metric; sql: string }[];
}

/**
 * The parameters every part binds: the site, and where the merge splits for hours from `first` to
 * `last` (epoch ms, inclusive): the watermark and those hours' committed runs.
 */
export const partParams = (
  ctx: QueryContext,
  siteId: string,
  first: number,
  last: number,
): Record<string, unknown> => ({
  site: siteId,
  watermark: Math.floor(ctx.split.watermark / 1000),
  runs: runsBetween(ctx.split, first, last),
});

/**
 * Where each metric comes from. Without filters: the hourly merge, and conversions from the goal
 * rows of the dimensions merge. With filters (all on one dimension): the rows of that dimension in
 * the dimensions merge, for the metrics those rows have.
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
        table: 'dimensions',
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
      table: 'hourly',
      timeColumn: 'hour',
      where: [],
      metrics: hourly.map((metric) => ({ metric, sql: hourlyMetricSql[metric]! })),
    });
  }
  if (metrics.includes('conversions')) {
    parts.push({
      table: 'dimensions',
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
  const conditions = ['site_id = {site:String}', `${t} >= ${lo}`, `${t} <= ${hi}`, ...part.where];
  return `SELECT ${columns.join(', ')}
    FROM ${rowsSql(part.table, conditions)}
    ${bucket ? 'GROUP BY bucket' : ''}`;
}

/** Reads the metric columns of a result row as numbers (ClickHouse sends 64-bit integers as strings). */
export function readMetrics(row: Record<string, unknown>, metrics: Metric[]): Record<Metric, number> {
  const out = {} as Record<Metric, number>;
  for (const m of metrics) out[m] = Number(row[alias(m)] ?? 0);
  return out;
}
