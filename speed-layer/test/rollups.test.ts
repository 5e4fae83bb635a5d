import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouseClient,
  type Config,
  createClickHouse,
  createKafka,
  createLogger,
  ensureEventsTopic,
  type StoredEvent,
  toClickHouseTime,
} from '@sightline/core';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { applySchema } from '../src/schema.js';

const hourMs = 3600_000;
const minuteMs = 60_000;
// Two hours that closed recently: inside speed_minute's TTL, which drops expired rows at insert.
const h0 = Math.floor(Date.now() / hourMs) * hourMs - 2 * hourMs;
const h1 = h0 + hourMs;
const hourText = (ms: number) => toClickHouseTime(ms).slice(0, 19);
const H0 = hourText(h0);
const H1 = hourText(h1);

const site = 'shop';
const page = (overrides: Partial<StoredEvent> & { at: number }) =>
  makeStoredEvent({
    site_id: site,
    hostname: 'shop.example',
    url: `https://shop.example${overrides.pathname ?? '/'}`,
    ...overrides,
  });
const firefox = { country: 'DE', browser: 'Firefox', os: 'Linux', device: 'desktop' };
const safari = { country: '', browser: 'Safari', os: 'iOS', device: 'mobile' };

// Visitor 1 arrives from Google, reads the pricing page and buys; visitor 2 arrives from a newsletter
// link; in the next hour visitor 3 comes from Hacker News and signs up, and visitor 1 comes back.
const hour0 = [
  page({
    at: h0 + minuteMs,
    visitor_id: '1',
    pathname: '/',
    referrer: 'https://www.google.com/search',
    referrer_source: 'Google',
    channel: 'organic_search',
    ...firefox,
  }),
  page({
    at: h0 + 2 * minuteMs,
    visitor_id: '1',
    pathname: '/pricing',
    // Internal navigation (www. is dropped as ingest does): no entry, no acquisition rows.
    referrer: 'https://www.shop.example/',
    referrer_source: '',
    channel: 'direct',
    ...firefox,
  }),
  page({
    at: h0 + 3 * minuteMs,
    visitor_id: '1',
    name: 'purchase',
    pathname: '/pricing',
    referrer: 'https://shop.example/',
    referrer_source: '',
    channel: 'direct',
    props: { plan: 'pro' },
    revenue_amount: '49.90',
    revenue_currency: 'EUR',
    ...firefox,
  }),
  page({
    at: h0 + 2 * minuteMs + 30_000,
    visitor_id: '2',
    pathname: '/pricing',
    referrer: '',
    referrer_source: 'newsletter',
    channel: 'email',
    utm_source: 'newsletter',
    utm_medium: 'email',
    utm_campaign: 'spring',
    utm_content: 'top',
    utm_term: 'shoes',
    country: 'US',
    browser: 'Chrome',
    os: 'macOS',
    device: 'desktop',
  }),
];
const hour1 = [
  page({
    at: h1 + 5 * minuteMs,
    visitor_id: '3',
    pathname: '/',
    referrer: 'https://news.ycombinator.com/item?id=1',
    referrer_source: 'Hacker News',
    channel: 'referral',
    ...safari,
  }),
  page({
    at: h1 + 6 * minuteMs,
    visitor_id: '1',
    pathname: '/',
    referrer: '',
    referrer_source: '',
    channel: 'direct',
    ...firefox,
  }),
  page({
    at: h1 + 7 * minuteMs,
    visitor_id: '3',
    name: 'signup',
    pathname: '/',
    referrer: 'https://shop.example/',
    referrer_source: '',
    channel: 'direct',
    // An empty prop value is no value: no prop:source row.
    props: { plan: 'free', source: '' },
    ...safari,
  }),
];
// Excluded from every rollup: a bot on this site, with values found nowhere else.
const bot = page({
  at: h0 + minuteMs,
  visitor_id: '99',
  pathname: '/bot-only',
  is_bot: true,
  props: { plan: 'bot' },
  revenue_amount: '1000',
  country: 'XX',
});
// Another site in the same minutes: counted for that site only.
const otherSite = makeStoredEvent({ site_id: 'other-site', at: h0 + minuteMs, visitor_id: '1' });

async function rows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown> = {}) {
  const result = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

describe('speed rollups: minute, hour and dimension views over events_raw', () => {
  let config: Config;
  let cleanup: () => Promise<void>;
  let ch: ClickHouseClient;

  before(async () => {
    ({ config, cleanup } = await testStack('rollups'));
    const logger = createLogger(config);
    // The Kafka engine table consumes this (empty) topic; creating it keeps its consumer quiet.
    await ensureEventsTopic(createKafka(config, logger), config);
    ch = createClickHouse(config);
    await applySchema(ch, config, logger);
    let offset = 0;
    const insert = (events: StoredEvent[]) =>
      ch.insert({
        table: 'events_raw',
        format: 'JSONEachRow',
        values: events.map((e) => ({
          ...e,
          kafka_partition: 0,
          kafka_offset: offset++,
          kafka_ts: e.received_at,
        })),
      });
    // Several inserts, so the rollups hold several parts that only the reads merge.
    await insert([hour0[0]!, bot, otherSite]);
    await insert(hour0.slice(1));
    await insert(hour1);
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  it('counts per site and hour, merging visitor sketches across hours', async () => {
    const hourly = await rows<Record<string, string | number>>(
      ch,
      `SELECT site_id, hour, sum(pageviews) AS pageviews, sum(events) AS events,
              uniqCombined64Merge(visitors) AS visitors, sum(revenue) AS revenue
       FROM speed_hourly GROUP BY site_id, hour ORDER BY site_id, hour`,
    );
    assert.deepEqual(
      hourly.map((r) => [
        r.site_id,
        r.hour,
        ...['pageviews', 'events', 'visitors', 'revenue'].map((k) => Number(r[k])),
      ]),
      [
        ['other-site', H0, 1, 1, 1, 0],
        [site, H0, 3, 4, 2, 49.9],
        [site, H1, 2, 3, 2, 0],
      ],
    );
    const [range] = await rows<{ visitors: number; pageviews: number }>(
      ch,
      `SELECT uniqCombined64Merge(visitors) AS visitors, sum(pageviews) AS pageviews
       FROM speed_hourly WHERE site_id = {site:String}`,
      { site },
    );
    assert.equal(Number(range!.visitors), 3, 'visitors 1, 2 and 3: distinct over both hours, not 2 + 2');
    assert.equal(Number(range!.pageviews), 5);
  });

  it('counts per site and minute for the realtime view', async () => {
    const minutes = await rows<Record<string, string | number>>(
      ch,
      `SELECT minute, sum(pageviews) AS pageviews, sum(events) AS events, uniqCombined64Merge(visitors) AS visitors
       FROM speed_minute WHERE site_id = {site:String} GROUP BY minute ORDER BY minute`,
      { site },
    );
    const minute = (ms: number) => toClickHouseTime(ms).slice(0, 19);
    assert.deepEqual(
      minutes.map((r) => [r.minute, Number(r.pageviews), Number(r.events), Number(r.visitors)]),
      [
        [minute(h0 + minuteMs), 1, 1, 1],
        [minute(h0 + 2 * minuteMs), 2, 2, 2],
        [minute(h0 + 3 * minuteMs), 0, 1, 1],
        [minute(h1 + 5 * minuteMs), 1, 1, 1],
        [minute(h1 + 6 * minuteMs), 1, 1, 1],
        [minute(h1 + 7 * minuteMs), 0, 1, 1],
      ],
    );
    const [window] = await rows<{ visitors: number }>(
      ch,
      `SELECT uniqCombined64Merge(visitors) AS visitors FROM speed_minute
       WHERE site_id = {site:String} AND minute < {until:DateTime('UTC')}`,
      { site, until: minute(h0 + 4 * minuteMs) },
    );
    assert.equal(Number(window!.visitors), 2, 'three minutes of visitors 1 and 2 merge to 2, not 4');
    const [other] = await rows<{ events: number }>(
      ch,
      "SELECT sum(events) AS events FROM speed_minute WHERE site_id = 'other-site'",
    );
    assert.equal(Number(other!.events), 1);
  });

  it('breaks every dimension down exactly: pageviews, events, entries, visitors, revenue', async () => {
    const found = await rows<Record<string, string | number>>(
      ch,
      `SELECT dimension, hour, value, sum(pageviews) AS pageviews, sum(events) AS events, sum(entries) AS entries,
              uniqCombined64Merge(visitors) AS visitors, sum(revenue) AS revenue
       FROM speed_dimensions WHERE site_id = {site:String}
       GROUP BY dimension, hour, value ORDER BY dimension, hour, value`,
      { site },
    );
    const metrics = ['pageviews', 'events', 'entries', 'visitors', 'revenue'];
    // [dimension, hour, value, pageviews, events, entries, visitors, revenue]
    const expected: [string, string, string, number, number, number, number, number][] = [
      ['browser', H0, 'Chrome', 1, 1, 1, 1, 0],
      ['browser', H0, 'Firefox', 2, 3, 1, 1, 49.9],
      ['browser', H1, 'Firefox', 1, 1, 1, 1, 0],
      ['browser', H1, 'Safari', 1, 2, 1, 1, 0],
      ['channel', H0, 'email', 1, 1, 1, 1, 0],
      ['channel', H0, 'organic_search', 1, 1, 1, 1, 0],
      ['channel', H1, 'direct', 1, 1, 1, 1, 0],
      ['channel', H1, 'referral', 1, 1, 1, 1, 0],
      ['country', H0, 'DE', 2, 3, 1, 1, 49.9],
      ['country', H0, 'US', 1, 1, 1, 1, 0],
      ['country', H1, '', 1, 2, 1, 1, 0],
      ['country', H1, 'DE', 1, 1, 1, 1, 0],
      ['device', H0, 'desktop', 3, 4, 2, 2, 49.9],
      ['device', H1, 'desktop', 1, 1, 1, 1, 0],
      ['device', H1, 'mobile', 1, 2, 1, 1, 0],
      ['entry_page', H0, '/', 1, 1, 1, 1, 0],
      ['entry_page', H0, '/pricing', 1, 1, 1, 1, 0],
      ['entry_page', H1, '/', 2, 2, 2, 2, 0],
      ['event_name', H0, 'pageview', 3, 3, 2, 2, 0],
      ['event_name', H0, 'purchase', 0, 1, 0, 1, 49.9],
      ['event_name', H1, 'pageview', 2, 2, 2, 2, 0],
      ['event_name', H1, 'signup', 0, 1, 0, 1, 0],
      ['os', H0, 'Linux', 2, 3, 1, 1, 49.9],
      ['os', H0, 'macOS', 1, 1, 1, 1, 0],
      ['os', H1, 'Linux', 1, 1, 1, 1, 0],
      ['os', H1, 'iOS', 1, 2, 1, 1, 0],
      ['page', H0, '/', 1, 1, 1, 1, 0],
      ['page', H0, '/pricing', 2, 3, 1, 2, 49.9],
      ['page', H1, '/', 2, 3, 2, 2, 0],
      ['prop:plan', H0, 'pro', 0, 1, 0, 1, 49.9],
      ['prop:plan', H1, 'free', 0, 1, 0, 1, 0],
      // '' is "Direct / None": kept.
      ['referrer_source', H0, 'Google', 1, 1, 1, 1, 0],
      ['referrer_source', H0, 'newsletter', 1, 1, 1, 1, 0],
      ['referrer_source', H1, '', 1, 1, 1, 1, 0],
      ['referrer_source', H1, 'Hacker News', 1, 1, 1, 1, 0],
      ['utm_campaign', H0, 'spring', 1, 1, 1, 1, 0],
      ['utm_content', H0, 'top', 1, 1, 1, 1, 0],
      ['utm_medium', H0, 'email', 1, 1, 1, 1, 0],
      ['utm_source', H0, 'newsletter', 1, 1, 1, 1, 0],
      ['utm_term', H0, 'shoes', 1, 1, 1, 1, 0],
    ];
    assert.deepEqual(
      found.map((r) => [r.dimension, r.hour, r.value, ...metrics.map((m) => Number(r[m]))]),
      expected,
    );
  });

  it('merges a dimension value over a range of hours as distinct visitors', async () => {
    const top = await rows<Record<string, string | number>>(
      ch,
      `SELECT value, sum(pageviews) AS pageviews, uniqCombined64Merge(visitors) AS visitors
       FROM speed_dimensions
       WHERE site_id = {site:String} AND dimension = {dimension:String}
         AND hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
       GROUP BY value ORDER BY visitors DESC, value`,
      { site, dimension: 'event_name', from: H0, to: hourText(h1 + hourMs) },
    );
    assert.deepEqual(
      top.map((r) => [r.value, Number(r.pageviews), Number(r.visitors)]),
      [
        ['pageview', 5, 3],
        ['purchase', 0, 1],
        ['signup', 0, 1],
      ],
      'pageview visitors are {1, 2} and {3, 1}: 3 distinct, not 4',
    );
  });

  it('keeps bots and other sites out of the site rollups', async () => {
    const [leaks] = await rows<{ n: number }>(
      ch,
      `SELECT count() AS n FROM speed_dimensions
       WHERE value IN ('/bot-only', 'bot', 'XX') OR (site_id = {site:String} AND revenue >= 1000)`,
      { site },
    );
    assert.equal(Number(leaks!.n), 0);
    const [other] = await rows<{ n: number }>(
      ch,
      "SELECT count() AS n FROM speed_dimensions WHERE site_id = 'other-site' AND dimension = 'page'",
    );
    assert.equal(Number(other!.n), 1);
  });
});
