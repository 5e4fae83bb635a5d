import { type ClickHouseClient, readWatermark } from '@sightline/core';

export const HOUR_MS = 3600_000;

export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * The hours a scheduled run should recompute: every closed hour from the watermark (or the first
 * hour with data) that is not committed, and the recent hours, within the late window, that received
 * events after their last commit.
 */
export async function hoursToRecompute(
  ch: ClickHouseClient,
  now: number,
  lateWindowHours: number,
): Promise<{ hour: Date; reason: 'scheduled' | 'late_events' }[]> {
  const lastClosed = floorHour(now) - HOUR_MS;
  const watermark = await readWatermark(ch);
  let from = watermark?.getTime();
  if (from === undefined) {
    const [first] = await (
      await ch.query({
        query: 'SELECT toUnixTimestamp(toStartOfHour(min(ts))) AS h, count() AS n FROM events_raw',
        format: 'JSONEachRow',
      })
    ).json<{ h: number; n: number }>();
    if (!first || Number(first.n) === 0) return [];
    from = Number(first.h) * 1000;
  }
  const planned: { hour: Date; reason: 'scheduled' | 'late_events' }[] = [];
  for (let hour = from; hour <= lastClosed; hour += HOUR_MS)
    planned.push({ hour: new Date(hour), reason: 'scheduled' });

  const lateSince = floorHour(now) - lateWindowHours * HOUR_MS;
  const late = await (
    await ch.query({
      query: `SELECT toUnixTimestamp(h) AS h FROM (
          SELECT toStartOfHour(ts) AS h, max(received_at) AS last_received FROM events_raw
          WHERE ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({until:Int64}, 'UTC')
          GROUP BY h
        ) AS r INNER JOIN batch_committed AS c ON c.hour = r.h
        WHERE r.last_received > c.committed_at`,
      query_params: { since: lateSince, until: Math.min(from, lastClosed + HOUR_MS) },
      format: 'JSONEachRow',
    })
  ).json<{ h: number }>();
  for (const row of late) planned.push({ hour: new Date(Number(row.h) * 1000), reason: 'late_events' });
  return planned;
}
