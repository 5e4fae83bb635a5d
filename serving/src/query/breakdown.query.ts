import type { Dimension } from './dimensions.js';
import type { Filter } from './filters.js';
import { alias, type Metric } from './metrics.js';
import { partParams, partSql, planParts, readMetrics } from './parts.js';
import type { QueryContext } from './run.js';
import type { Interval, UnitRange } from './time.js';
import { bucketSql } from './timeseries.query.js';

export interface BreakdownQuery {
  siteId: string;
  dimension: Dimension;
  metrics: Metric[];
  units: UnitRange;
  /** Filters on the breakdown's own dimension only (see filterDimension). */
  filters: Filter[];
  orderBy: { metric: Metric; direction: 'asc' | 'desc' };
  limit: number;
  offset: number;
  /** Also by time: the rows of each bucket in `tz` (buckets in time order, then the metric order). */
  time?: { interval: Exclude<Interval, 'minute'>; tz: string };
}

/** `time` is the bucket's start (epoch ms) when the breakdown is also by time. */
export type BreakdownRow = { value: string; time?: number } & Partial<Record<Metric, number>>;

/**
 * Top values of one dimension over a range of hours, sorted by a metric (ties by value, so pages
 * are stable), one page of them. One more row than the page is read to tell whether more follow.
 * With `time`, the values of each bucket of the range (only the range's hours count, so a week cut
 * by the range holds the part inside it), buckets in time order.
 */
export async function queryBreakdown(
  ctx: QueryContext,
  q: BreakdownQuery,
): Promise<{ rows: BreakdownRow[]; hasMore: boolean }> {
  const params: Record<string, unknown> = {
    ...partParams(ctx, q.units.first, q.units.last),
    first: q.units.first / 1000,
    last: q.units.last / 1000,
    limit: q.limit + 1,
    offset: q.offset,
    ...(q.time ? { tz: q.time.tz } : {}),
  };
  const metrics = q.metrics.includes(q.orderBy.metric) ? q.metrics : [...q.metrics, q.orderBy.metric];
  const [part] = planParts(metrics, q.filters, params, { breakdown: q.dimension });
  const interval = q.time?.interval;
  const timeBucket = interval === undefined || interval === 'hour' ? (c: string) => c : bucketSql[interval];
  const inner = partSql(
    ctx.split,
    part!,
    "toDateTime({first:UInt32}, 'UTC')",
    "toDateTime({last:UInt32}, 'UTC')",
    interval ? (c) => `(toUnixTimestamp(${timeBucket(c)}), value)` : () => 'value',
  );
  const direction = q.orderBy.direction === 'asc' ? 'ASC' : 'DESC';
  const query = `SELECT ${interval ? 'bucket.1 AS t, bucket.2 AS value' : 'bucket AS value'}, * EXCEPT bucket
    FROM (${inner})
    ORDER BY site_id, ${interval ? 't ASC, ' : ''}${alias(q.orderBy.metric)} ${direction}, value ASC
    LIMIT {limit:UInt32} OFFSET {offset:UInt32} BY site_id`;
  const rows = await ctx.reads.read(query, params, q.siteId);
  return {
    rows: rows.slice(0, q.limit).map((row) => ({
      value: String(row.value),
      ...(interval ? { time: Number(row.t) * 1000 } : {}),
      ...readMetrics(row, q.metrics),
    })),
    hasMore: rows.length > q.limit,
  };
}
