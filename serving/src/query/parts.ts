import { toClickHouseTime } from '@sightline/core';
import { type BatchSplit, runsBetween } from './batch-split.js';
import type { Dimension } from './dimensions.js';
import { unsupportedQuery } from './errors.js';
import { type Filter, filterConditions, filterDimension } from './filters.js';
import {
  alias,
  conversionsSql,
  dimensionMetricSql,
  hourBucketVisitorsSql,
  hourlyMetricSql,
  type Metric,
} from './metrics.js';
import type { QueryContext } from './run.js';

/**
 * The FROM of a part's rows: the Lambda merge (the views' SELECT, see BatchSplit) split at
 * {watermark} and {runs}, or the speed layer's minutes; the part's conditions reach each side of the
 * merge's UNION through ClickHouse's predicate push-down.
 */
function rowsSql(split: BatchSplit, part: Part, conditions: string[]): string {
  const from = part.table === 'speed_minute' ? 'speed_minute' : `(${split.merge[part.table]})`;
  return `${from} WHERE ${conditions.join(' AND ')}`;
}

/** One aggregation over one merged table; a query joins the parts it needs. */
export interface Part {
  table: 'hourly' | 'dimensions' | 'speed_minute';
  timeColumn: 'hour' | 'minute';
  where: string[];
  metrics: { metric: Metric; sql: string }[];
}

/**
 * The parameters every part binds besides its sites (SiteReads binds those): where the merge splits
 * for hours from `first` to `last` (epoch ms, inclusive), the watermark and those hours' committed runs.
 */
export const partParams = (ctx: QueryContext, first: number, last: number): Record<string, unknown> => ({
  // The merge views' DateTime('UTC') parameter: whole seconds.
  watermark: toClickHouseTime(ctx.split.watermark).slice(0, 19),
  runs: runsBetween(ctx.split, first, last),
});

/**
 * Where each metric comes from. Without filters: the hourly merge, and conversions from the goal
 * rows of the dimensions merge. With filters (all on one dimension): the rows of that dimension in
 * the dimensions merge, for the metrics those rows have. `hourBuckets`: the rows are grouped by the
 * hour itself, so visitors can be the batch's exact count of each hour.
 */
export function planParts(
  metrics: Metric[],
  filters: Filter[],
  params: Record<string, unknown>,
  { breakdown, hourBuckets = false }: { breakdown?: Dimension; hourBuckets?: boolean } = {},
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
      metrics: hourly.map((metric) => ({
        metric,
        sql: hourBuckets && metric === 'visitors' ? hourBucketVisitorsSql : hourlyMetricSql[metric]!,
      })),
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

/**
 * The SELECT of one part over [lo, hi] (inclusive unit starts) for the sites of a SiteReads query,
 * grouped by site and by `bucket` if given.
 */
export function partSql(
  split: BatchSplit,
  part: Part,
  lo: string,
  hi: string,
  bucket?: (column: string) => string,
): string {
  const t = part.timeColumn;
  const columns = part.metrics.map((m) => `${m.sql} AS ${alias(m.metric)}`);
  if (bucket) columns.unshift(`${bucket(t)} AS bucket`);
  const conditions = ['site_id IN {sites:Array(String)}', `${t} >= ${lo}`, `${t} <= ${hi}`, ...part.where];
  return `SELECT site_id, ${columns.join(', ')}
    FROM ${rowsSql(split, part, conditions)}
    GROUP BY site_id${bucket ? ', bucket' : ''}`;
}

/**
 * The FROM of parts read side by side: their SELECTs (partSql over [lo, hi], grouped by `bucket` if
 * given) joined on the site and the bucket. A full join: a site or bucket missing from one part reads
 * as zeros there.
 */
export function joinedPartsSql(
  split: BatchSplit,
  parts: Part[],
  lo: string,
  hi: string,
  bucket?: (column: string) => string,
): string {
  const using = bucket ? 'site_id, bucket' : 'site_id';
  return parts
    .map((part, i) => {
      const sql = `(${partSql(split, part, lo, hi, bucket)}) AS p${i}`;
      return i === 0 ? sql : `FULL OUTER JOIN ${sql} USING (${using})`;
    })
    .join(' ');
}

/** Reads the metric columns of a result row as numbers (ClickHouse sends 64-bit integers as strings). */
export function readMetrics(row: Record<string, unknown>, metrics: Metric[]): Record<Metric, number> {
  const out = {} as Record<Metric, number>;
  for (const m of metrics) out[m] = Number(row[alias(m)] ?? 0);
  return out;
}
