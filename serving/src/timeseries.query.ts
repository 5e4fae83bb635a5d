import type { ClickHouseClient } from '@sightline/core';

export const timeseriesMetrics = ['pageviews', 'events', 'visitors'] as const;
export type TimeseriesMetric = (typeof timeseriesMetrics)[number];
export type Interval = 'hour' | 'day';

/** How each metric merges across the hours of a bucket: sums add up, visitor sketches merge (never sum). */
const metricSql: Record<TimeseriesMetric, string> = {
  pageviews: 'sum(pageviews)',
  events: 'sum(events)',
  visitors: 'uniqCombined64Merge(visitors_state)',
};

const intervalSql: Record<Interval, string> = {
  hour: 'toIntervalHour(1)',
  day: 'toIntervalDay(1)',
};

export interface TimeseriesQuery {
  siteId: string;
  metrics: TimeseriesMetric[];
  interval: Interval;
  /** Epoch ms, aligned to the interval; `to` is exclusive. */
  from: number;
  to: number;
}

export type TimeseriesRow = { time: string } & Partial<Record<TimeseriesMetric, number>>;

/**
 * One site's metrics per bucket from hourly_merged (the Lambda merge: batch below the watermark,
 * speed from it on), with empty buckets filled with zeros. Metric and interval names come
 * from the allowlists above; every value is a bound parameter.
 */
export async function queryTimeseries(ch: ClickHouseClient, q: TimeseriesQuery): Promise<TimeseriesRow[]> {
  const interval = intervalSql[q.interval];
  const metrics = q.metrics.map((m) => `${metricSql[m]} AS ${m}`).join(', ');
  const query = `
    SELECT toStartOfInterval(hour, ${interval}) AS time, ${metrics}
    FROM hourly_merged
    WHERE site_id = {site:String}
      AND hour >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
      AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    GROUP BY time
    ORDER BY time WITH FILL
      FROM toDateTime(fromUnixTimestamp64Milli({from:Int64}, 'UTC'), 'UTC')
      TO toDateTime(fromUnixTimestamp64Milli({to:Int64}, 'UTC'), 'UTC')
      STEP ${interval}`;
  const result = await ch.query({
    query,
    query_params: { site: q.siteId, from: q.from, to: q.to },
    format: 'JSONEachRow',
  });
  const rows = await result.json<Record<string, string | number>>();
  return rows.map((row) => {
    const out: TimeseriesRow = { time: `${String(row.time).replace(' ', 'T')}Z` };
    for (const m of q.metrics) out[m] = Number(row[m] ?? 0);
    return out;
  });
}
