import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse, migrate, type StoredEvent } from '@sightline/core';
import { makeStoredEvent, streamlessMigration, testStack } from '@sightline/core/testing';
import { recomputeHour } from '../src/recompute-hour.js';

const H = Date.UTC(2026, 10, 21, 8);
const HOURS = 3;

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Varied traffic without duplicates: several sites, pages, custom events, props, revenue and bots. */
function traffic(count: number): StoredEvent[] {
  const next = random(7);
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const name = pick(['pageview', 'pageview', 'pageview', 'signup', 'scroll']);
    return makeStoredEvent({
      site_id: pick(['s1', 's2', 's3']),
      visitor_id: String(1 + Math.floor(next() * 150)),
      name,
      at: H + Math.floor(next() * HOURS * 3600_000),
      pathname: pick(['/', '/pricing', '/blog/a', '/blog/b', '/checkout/pay']),
      interactive: name !== 'scroll',
      props: name === 'signup' ? { plan: pick(['free', 'pro', '']) } : {},
      revenue_amount: name === 'signup' && next() < 0.5 ? '12.5' : null,
      revenue_currency: 'EUR',
      referrer_source: pick(['', 'Google', 'Twitter']),
      channel: pick(['direct', 'organic_search', 'social']),
      country: pick(['DE', 'FR', '']),
      browser: pick(['Firefox', 'Chrome']),
      os: pick(['Linux', 'Windows', 'iOS']),
      device: pick(['desktop', 'mobile']),
      is_bot: i % 37 === 0,
    });
  });
}

/** Per-event dimensions: the ones whose numbers do not depend on visits or dedup. */
const perEventDimensions =
  "dimension IN ('page', 'event_name', 'country', 'browser', 'os', 'device') OR startsWith(dimension, 'prop:')";

describe('speed and batch agree on duplicate-free input (invariant 7)', () => {
  let ch: ClickHouseClient;
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('batch-agreement');
    cleanup = stack.cleanup;
    ch = createClickHouse(stack.config);
    await migrate(ch, streamlessMigration);
    const events = traffic(3000).map((e, i) => ({
      ...e,
      kafka_partition: 0,
      kafka_offset: i,
      kafka_ts: e.received_at,
    }));
    // In several inserts, as the stream writes them: the speed rollups get several parts per key.
    for (let i = 0; i < events.length; i += 500) {
      await ch.insert({ table: 'events_raw', values: events.slice(i, i + 500), format: 'JSONEachRow' });
    }
    for (let h = 0; h < HOURS; h += 1)
      await recomputeHour(ch, new Date(H + h * 3600_000), { reason: 'test' });
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  async function rows(query: string): Promise<string[]> {
    const result = await ch.query({ query, format: 'JSONEachRow' });
    return (await result.json<Record<string, unknown>>()).map((r) => JSON.stringify(r));
  }

  it('per site and hour: pageviews, events, the visitors sketch and revenue', async () => {
    const speed = await rows(`
      SELECT site_id, toString(hour) AS h, sum(pageviews) AS pageviews, sum(events) AS events,
        uniqCombined64Merge(visitors) AS visitors, toString(sum(revenue)) AS revenue
      FROM speed_hourly GROUP BY site_id, hour ORDER BY site_id, h`);
    const batch = await rows(`
      SELECT site_id, toString(hour) AS h, sum(pageviews) AS pageviews, sum(events) AS events,
        uniqCombined64Merge(visitors_state) AS visitors, toString(sum(revenue)) AS revenue
      FROM batch_hourly WHERE (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
      GROUP BY site_id, hour ORDER BY site_id, h`);
    assert.equal(batch.length, 3 * HOURS);
    assert.deepEqual(batch, speed);
  });

  it('per site, hour and value of every per-event dimension', async () => {
    const speed = await rows(`
      SELECT site_id, dimension, toString(hour) AS h, value, sum(pageviews) AS pageviews, sum(events) AS events,
        uniqCombined64Merge(visitors) AS visitors, toString(sum(revenue)) AS revenue
      FROM speed_dimensions WHERE ${perEventDimensions}
      GROUP BY site_id, dimension, hour, value ORDER BY site_id, dimension, h, value`);
    const batch = await rows(`
      SELECT site_id, dimension, toString(hour) AS h, value, sum(pageviews) AS pageviews, sum(events) AS events,
        uniqCombined64Merge(visitors_state) AS visitors, toString(sum(revenue)) AS revenue
      FROM batch_dimensions_hourly
      WHERE (hour, run_id) IN (SELECT hour, run_id FROM batch_committed) AND (${perEventDimensions})
      GROUP BY site_id, dimension, hour, value ORDER BY site_id, dimension, h, value`);
    assert.ok(batch.length > 100, `${batch.length} rows compared`);
    assert.deepEqual(batch, speed);
  });

  it('over the whole range, the merged visitors of both agree (sketches merge, never add up)', async () => {
    const [speed] = await rows(
      "SELECT site_id, uniqCombined64Merge(visitors) AS v FROM speed_hourly WHERE site_id = 's1' GROUP BY site_id",
    );
    const [batch] = await rows(`
      SELECT site_id, uniqCombined64Merge(visitors_state) AS v FROM batch_hourly
      WHERE site_id = 's1' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed) GROUP BY site_id`);
    assert.equal(batch, speed);
  });
});
