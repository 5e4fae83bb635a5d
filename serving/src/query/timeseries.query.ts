import type { Filter } from './filters.js';
import type { Metric } from './metrics.js';
import {
  joinedPartsSql,
  type Part,
  partParams,
  partSql,
  planMinuteParts,
  planParts,
  readMetrics,
} from './parts.js';
import type { QueryContext } from './run.js';
import {
  DAY_MS,
  formatInZone,
  HOUR_MS,
  type Interval,
  MINUTE_MS,
  type UnitRange,
  unitLabels,
} from './time.js';

export interface TimeseriesQuery {
  siteId: string;
  metrics: Metric[];
  interval: Interval;
  /** IANA zone of the buckets and of the labels. */
  tz: string;
  /** The rollup units (hours; minutes for the minute interval) the range covers. */
  units: UnitRange;
  filters: Filter[];
}

export type TimeseriesRow = { time: string } & Partial<Record<Metric, number>>;

export const unitMs = (interval: Interval) => (interval === 'minute' ? MINUTE_MS : HOUR_MS);

/**
 * Buckets in the query's zone, built from UTC hours (minutes for `minute`): an hour goes to the
 * bucket its start falls in. toTimeZone keeps DST right (a Berlin day in March has 23 hours, in
 * October 25); minute and hour buckets are the units themselves, labelled in the zone.
 */
export const bucketSql: Record<Exclude<Interval, 'minute' | 'hour'>, (column: string) => string> = {
  day: (c) => `toStartOfDay(toTimeZone(${c}, {tz:String}))`,
  week: (c) => `toDateTime(toMonday(toTimeZone(${c}, {tz:String})), {tz:String})`,
  month: (c) => `toDateTime(toStartOfMonth(toTimeZone(${c}, {tz:String})), {tz:String})`,
};

/** How far outside the range the whole buckets at its ends can reach. */
const padMs: Record<Exclude<Interval, 'minute' | 'hour'>, number> = {
  day: 2 * DAY_MS,
  week: 8 * DAY_MS,
  month: 32 * DAY_MS,
};

/**
 * One site's metrics per bucket, empty buckets as zeros, the range widened outward to whole
 * buckets. For days, weeks and months one query: a grid of every hour of the widened range mapped
 * to its bucket (made by ClickHouse, so buckets and data use the same zone rules), joined to one
 * aggregation per part.
 */
export async function queryTimeseries(ctx: QueryContext, q: TimeseriesQuery): Promise<TimeseriesRow[]> {
  const unit = unitMs(q.interval);
  const pad = q.interval === 'minute' || q.interval === 'hour' ? 0 : padMs[q.interval];
  const params = partParams(ctx, q.units.first - pad, q.units.last + pad);
  const parts: Part[] =
    q.interval === 'minute'
      ? planMinuteParts(q.metrics, q.filters)
      : planParts(q.metrics, q.filters, params, { hourBuckets: q.interval === 'hour' });
  if (q.interval === 'minute' || q.interval === 'hour') return unitSeries(ctx, q, parts, params, unit);
  params.tz = q.tz;
  params.scan_from = (q.units.first - pad) / 1000;
  params.scan_units = (q.units.last - q.units.first + 2 * pad) / unit + 1;
  params.first = q.units.first / 1000;
  params.last = q.units.last / 1000;
  const bucket = bucketSql[q.interval];
  const ctes = parts.map(
    (part, i) =>
      `p${i} AS (${partSql(ctx.split, part, '(SELECT min(lo) FROM grid)', '(SELECT max(hi) FROM grid)', bucket)})`,
  );
  const columns = parts.flatMap((part, i) => part.metrics.map((m) => `p${i}.m_${m.metric} AS m_${m.metric}`));
  const joins = parts.map(
    (_, i) => `LEFT JOIN p${i} ON p${i}.site_id = s.site_id AND p${i}.bucket = grid.bucket`,
  );
  const query = `
    WITH
      grid AS (
        SELECT ${bucket('u')} AS bucket, min(u) AS lo, max(u) AS hi
        FROM (SELECT toDateTime({scan_from:UInt32}, 'UTC') + toIntervalHour(number) AS u FROM numbers({scan_units:UInt32}))
        GROUP BY bucket
        HAVING bucket >= ${bucket("toDateTime({first:UInt32}, 'UTC')")}
          AND bucket <= ${bucket("toDateTime({last:UInt32}, 'UTC')")}
      ),
      ${ctes.join(',\n')}
    SELECT s.site_id AS site_id, toUnixTimestamp(grid.bucket) AS t, ${columns.join(', ')}
    FROM grid CROSS JOIN (SELECT arrayJoin({sites:Array(String)}) AS site_id) AS s ${joins.join(' ')}
    ORDER BY site_id, grid.bucket`;
  const rows = await ctx.reads.read(query, params, q.siteId);
  return rows.map((row) => ({
    time: formatInZone(Number(row.t) * 1000, q.tz),
    ...readMetrics(row, q.metrics),
  }));
}

/**
 * Minute and hour buckets are the rollup units themselves: no grid to build, one query joins the
 * parts' aggregations on the unit, and the empty buckets are filled here (the common case, kept cheap).
 */
async function unitSeries(
  ctx: QueryContext,
  q: TimeseriesQuery,
  parts: Part[],
  params: Record<string, unknown>,
  unit: number,
): Promise<TimeseriesRow[]> {
  params.first = q.units.first / 1000;
  params.last = q.units.last / 1000;
  const lo = "toDateTime({first:UInt32}, 'UTC')";
  const hi = "toDateTime({last:UInt32}, 'UTC')";
  const rows = await ctx.reads.read(
    `SELECT toUnixTimestamp(bucket) AS t, * EXCEPT bucket FROM ${joinedPartsSql(ctx.split, parts, lo, hi, (c) => c)}`,
    params,
    q.siteId,
  );
  const found = new Map(rows.map((row) => [Number(row.t), row]));
  const labels = unitLabels(q.units.first, q.units.last, unit, q.tz);
  return labels.map((time, i) => ({
    time,
    ...readMetrics(found.get((q.units.first + i * unit) / 1000) ?? {}, q.metrics),
  }));
}
