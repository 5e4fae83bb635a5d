import type { QueryContext } from './run.js';
import { MINUTE_MS } from './time.js';
import { queryTimeseries, type TimeseriesRow } from './timeseries.query.js';

export interface Realtime {
  current_visitors: number;
  minutes: TimeseriesRow[];
}

/**
 * Current visitors (distinct visitors of the current minute and the 4 before it) and the last 30
 * minutes minute by minute, from speed_minute: live numbers, which the batch never replaces.
 */
export async function queryRealtime(
  ctx: QueryContext,
  siteId: string,
  tz: string,
  now: number,
): Promise<Realtime> {
  const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const [current, minutes] = await Promise.all([
    ctx.reads.read(
      `SELECT site_id, uniqCombined64Merge(visitors) AS v FROM speed_minute
       WHERE site_id IN {sites:Array(String)} AND minute >= toDateTime({from:UInt32}, 'UTC') AND minute <= toDateTime({to:UInt32}, 'UTC')
       GROUP BY site_id`,
      { from: (minute - 4 * MINUTE_MS) / 1000, to: minute / 1000 },
      siteId,
    ),
    queryTimeseries(ctx, {
      siteId,
      metrics: ['visitors', 'pageviews', 'events'],
      interval: 'minute',
      tz,
      units: { first: minute - 29 * MINUTE_MS, last: minute },
      filters: [],
    }),
  ]);
  return { current_visitors: Number(current[0]?.v ?? 0), minutes };
}
