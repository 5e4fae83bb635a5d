import type { ClickHouseClient, StoredEvent } from '@sightline/core';
import { makeStoredEvent } from '@sightline/core/testing';

/**
 * Known data for the query tests, written straight into the tables the API reads: events into
 * events_raw (the speed layer's views turn them into speed_hourly, speed_minute and
 * speed_dimensions) and batch rows with chosen numbers into batch_hourly and
 * batch_dimensions_hourly, committed hour by hour. Batch numbers differ on purpose from the events
 * of the same hours, so a test tells which side an answer came from.
 */

/** Every hour from BLOCK_START up to WATERMARK is committed: the watermark is WATERMARK. */
export const BLOCK_START = Date.parse('2026-10-23T00:00:00Z');
export const WATERMARK = Date.parse('2026-10-25T12:00:00Z');
export const HOUR = 3600_000;

const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
let offset = 0;

export async function insertEvents(ch: ClickHouseClient, events: StoredEvent[]): Promise<void> {
  await ch.insert({
    table: 'events_raw',
    values: events.map((e) => {
      offset += 1;
      return { ...e, kafka_partition: 0, kafka_offset: offset, kafka_ts: e.received_at };
    }),
    format: 'JSONEachRow',
  });
}

export const pageview = (
  site: string,
  iso: string,
  visitor: number,
  pathname = '/',
  extra: Partial<StoredEvent> = {},
) => makeStoredEvent({ site_id: site, at: Date.parse(iso), visitor_id: String(visitor), pathname, ...extra });

export interface BatchNumbers {
  pageviews: number;
  events?: number;
  visitors: number[];
  visits?: number;
  bounces?: number;
  duration?: number;
  revenue?: number;
}

/** One batch_hourly row of a run; `run` decides whether it is the committed one. */
export async function insertBatchHour(
  ch: ClickHouseClient,
  site: string,
  iso: string,
  n: BatchNumbers,
  run = '00000000-0000-0000-0000-000000000001',
): Promise<void> {
  await ch.command({
    query: `INSERT INTO batch_hourly (site_id, hour, run_id, logic_version, pageviews, events, visitors,
        visitors_state, visits, bounces, visit_duration_seconds, conversions, revenue)
      SELECT {site:String}, toDateTime({hour:String}, 'UTC'), {run:UUID}, 1, {pv:UInt64}, {ev:UInt64},
        length({ids:Array(UInt64)}), arrayReduce('uniqCombined64State', {ids:Array(UInt64)}),
        {visits:UInt64}, {bounces:UInt64}, {duration:UInt64}, 0, toDecimal128({revenue:Float64}, 4)`,
    query_params: {
      site,
      hour: chTime(Date.parse(iso)),
      run,
      pv: n.pageviews,
      ev: n.events ?? n.pageviews,
      ids: n.visitors,
      visits: n.visits ?? 0,
      bounces: n.bounces ?? 0,
      duration: n.duration ?? 0,
      revenue: n.revenue ?? 0,
    },
  });
}

export async function insertBatchDimension(
  ch: ClickHouseClient,
  site: string,
  iso: string,
  dimension: string,
  value: string,
  n: BatchNumbers,
  run = '00000000-0000-0000-0000-000000000001',
): Promise<void> {
  await ch.command({
    query: `INSERT INTO batch_dimensions_hourly (site_id, hour, run_id, dimension, value, pageviews, events,
        visitors, visitors_state, visits, bounces, revenue)
      SELECT {site:String}, toDateTime({hour:String}, 'UTC'), {run:UUID}, {dimension:String}, {value:String},
        {pv:UInt64}, {ev:UInt64}, length({ids:Array(UInt64)}), arrayReduce('uniqCombined64State', {ids:Array(UInt64)}),
        {visits:UInt64}, {bounces:UInt64}, toDecimal128({revenue:Float64}, 4)`,
    query_params: {
      site,
      hour: chTime(Date.parse(iso)),
      run,
      dimension,
      value,
      pv: n.pageviews,
      ev: n.events ?? n.pageviews,
      ids: n.visitors,
      visits: n.visits ?? 0,
      bounces: n.bounces ?? 0,
      revenue: n.revenue ?? 0,
    },
  });
}

/** Commits run 1 for every hour of [BLOCK_START, WATERMARK): the batch watermark becomes WATERMARK. */
export async function commitBlock(ch: ClickHouseClient): Promise<void> {
  await ch.command({
    query: `INSERT INTO batch_commits
      SELECT toDateTime({start:UInt32}, 'UTC') + toIntervalHour(number), toUUID('00000000-0000-0000-0000-000000000001'),
        1, now64(3)
      FROM numbers({hours:UInt32})`,
    query_params: { start: BLOCK_START / 1000, hours: (WATERMARK - BLOCK_START) / HOUR },
  });
}

export async function insertSite(ch: ClickHouseClient, siteId: string, domain: string, timezone: string) {
  await ch.insert({
    table: 'sites',
    values: [
      {
        site_id: siteId,
        domain,
        timezone,
        allowed_hostnames: [],
        created_at: '2026-10-01 00:00:00.000',
        version: 1,
      },
    ],
    format: 'JSONEachRow',
  });
}
