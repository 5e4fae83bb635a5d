import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouseClient,
  createClickHouse,
  migrate,
  readWatermark,
  type StoredEvent,
} from '@sightline/core';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { recomputeHour } from '../src/recompute-hour.js';

const H = Date.UTC(2026, 10, 20, 10);
const at = (hh: number, mm: number) => Date.UTC(2026, 10, 20, hh, mm);
let offset = 0;

function row(e: StoredEvent) {
  offset += 1;
  return { ...e, kafka_partition: 0, kafka_offset: offset, kafka_ts: e.received_at };
}

async function committedHourly(ch: ClickHouseClient, site: string) {
  const result = await ch.query({
    query: `SELECT toString(hour) AS hour, pageviews, events, visitors, visits, bounces, visit_duration_seconds,
              conversions, toString(revenue) AS revenue
            FROM batch_hourly
            WHERE site_id = {site:String} AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
            ORDER BY hour`,
    query_params: { site },
    format: 'JSONEachRow',
  });
  return (await result.json<Record<string, string | number>>()).map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, k === 'hour' || k === 'revenue' ? v : Number(v)]),
    ),
  );
}

describe('recompute of one hour from events_raw', () => {
  let ch: ClickHouseClient;
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('batch-recompute');
    cleanup = stack.cleanup;
    ch = createClickHouse(stack.config);
    await migrate(ch, {
      variables: {
        kafka_brokers: stack.config.KAFKA_BROKERS!,
        events_topic: stack.config.KAFKA_EVENTS_TOPIC,
        consumer_group: stack.config.KAFKA_CONSUMER_GROUP,
        kafka_consumers: 1,
      },
    });
    const duplicate = makeStoredEvent({
      site_id: 'a',
      visitor_id: '3',
      pathname: '/pricing',
      at: at(10, 20),
    });
    const events = [
      // Visitor 1: a visit from 09:50 goes on at 10:05 (not a new visit); after 45 minutes without
      // an event, a new visit starts at 10:50 and goes on into the next hour (not a bounce).
      makeStoredEvent({ site_id: 'a', visitor_id: '1', pathname: '/', at: at(9, 50) }),
      makeStoredEvent({ site_id: 'a', visitor_id: '1', pathname: '/blog', at: at(10, 5) }),
      makeStoredEvent({ site_id: 'a', visitor_id: '1', pathname: '/', at: at(10, 50) }),
      makeStoredEvent({ site_id: 'a', visitor_id: '1', pathname: '/docs', at: at(11, 10) }),
      // Visitor 2: a pageview and a non-interactive event: still a bounce.
      makeStoredEvent({ site_id: 'a', visitor_id: '2', pathname: '/', at: at(10, 10) }),
      makeStoredEvent({
        site_id: 'a',
        visitor_id: '2',
        name: 'scroll',
        interactive: false,
        pathname: '/',
        at: at(10, 12),
      }),
      // Visitor 3: a pageview delivered twice (a client retry) and a purchase.
      duplicate,
      duplicate,
      makeStoredEvent({
        site_id: 'a',
        visitor_id: '3',
        name: 'purchase',
        pathname: '/pricing',
        revenue_amount: '9.99',
        revenue_currency: 'EUR',
        props: { plan: 'pro' },
        at: at(10, 21),
      }),
      // A bot: left out of everything.
      makeStoredEvent({ site_id: 'a', visitor_id: '9', is_bot: true, at: at(10, 30) }),
      // Another site in the same hour.
      makeStoredEvent({ site_id: 'b', visitor_id: '1', at: at(10, 0) }),
    ];
    await ch.insert({ table: 'events_raw', values: events.map(row), format: 'JSONEachRow' });
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  it('counts every metric of the hour exactly: dedup, bots, sessions across the hour boundary, bounces', async () => {
    const result = await recomputeHour(ch, new Date(H), { reason: 'test' });
    assert.equal(result.inputRows, 9, 'rows of the hour in events_raw, duplicates and the bot included');
    assert.deepEqual(await committedHourly(ch, 'a'), [
      {
        hour: '2026-11-20 10:00:00',
        pageviews: 4,
        events: 6,
        visitors: 3,
        visits: 3,
        bounces: 1,
        visit_duration_seconds: 20 * 60 + 2 * 60 + 60,
        conversions: 1,
        revenue: '9.99',
      },
    ]);
    assert.equal((await committedHourly(ch, 'b'))[0]!.visits, 1);
  });

  it('computes the dimensions: pages, events, props, and entry pages from visits', async () => {
    const result = await ch.query({
      query: `SELECT dimension, value, pageviews, events, visitors, visits, bounces
              FROM batch_dimensions_hourly
              WHERE site_id = 'a' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                AND dimension IN ('page', 'event_name', 'prop:plan', 'entry_page')
              ORDER BY dimension, value`,
      format: 'JSONEachRow',
    });
    const rows = (await result.json<Record<string, string | number>>()).map((r) =>
      [r.dimension, r.value, r.pageviews, r.events, r.visitors, r.visits, r.bounces].map((v) =>
        typeof v === 'string' ? v : Number(v),
      ),
    );
    assert.deepEqual(rows, [
      ['entry_page', '/', 0, 0, 0, 2, 1],
      ['entry_page', '/pricing', 0, 0, 0, 1, 0],
      ['event_name', 'pageview', 4, 4, 3, 0, 0],
      ['event_name', 'purchase', 0, 1, 1, 0, 0],
      ['event_name', 'scroll', 0, 1, 1, 0, 0],
      ['page', '/', 2, 3, 2, 0, 0],
      ['page', '/blog', 1, 1, 1, 0, 0],
      ['page', '/pricing', 1, 2, 1, 0, 0],
      ['prop:plan', 'pro', 0, 1, 1, 0, 0],
    ]);
  });

  it('recomputing replaces the hour atomically: the same numbers once, never twice', async () => {
    const before = await committedHourly(ch, 'a');
    const again = await recomputeHour(ch, new Date(H), { reason: 'test' });
    assert.deepEqual(await committedHourly(ch, 'a'), before);
    const runs = await (
      await ch.query({
        query: "SELECT uniqExact(run_id) AS n FROM batch_hourly WHERE site_id = 'a'",
        format: 'JSONEachRow',
      })
    ).json<{ n: number }>();
    assert.equal(
      Number(runs[0]!.n),
      2,
      'the old run stays until cleanup, but readers see only the committed one',
    );
    assert.ok(again.durationMs >= 0);
  });

  it('moves the watermark to the first hour not committed', async () => {
    assert.equal((await readWatermark(ch))?.toISOString(), '2026-11-20T11:00:00.000Z');
    await recomputeHour(ch, new Date(H + 2 * 3600_000), { reason: 'test' });
    assert.equal(
      (await readWatermark(ch))?.toISOString(),
      '2026-11-20T11:00:00.000Z',
      'a gap holds the watermark',
    );
    await recomputeHour(ch, new Date(H + 3600_000), { reason: 'test' });
    assert.equal((await readWatermark(ch))?.toISOString(), '2026-11-20T13:00:00.000Z');
  });
});
