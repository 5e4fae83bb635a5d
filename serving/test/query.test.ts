import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouseClient,
  ClickHousePool,
  createClickHouse,
  installErrorHandling,
  migrate,
} from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { openApiDocs, useZodSchemas } from '../src/routes/docs.js';
import { queryRoutes } from '../src/routes/query-routes.js';
import {
  commitBlock,
  insertBatchDimension,
  insertBatchHour,
  insertEvents,
  insertSite,
  pageview,
  WATERMARK,
} from './query-fixtures.js';

const L = 'lambda-site';
const B = 'berlin-site';
const K = 'kolkata-site';
const R = 'rt-site';

async function buildApp(pool: ClickHousePool, queryTimeoutSeconds?: number): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandling(app);
  useZodSchemas(app);
  await app.register(queryRoutes({ pool, ...(queryTimeoutSeconds ? { queryTimeoutSeconds } : {}) }));
  return app;
}

describe('query API over the merged rollups', () => {
  let ch: ClickHouseClient;
  let pool: ClickHousePool;
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;
  const now = Date.now();

  async function get(url: string, headers: Record<string, string> = {}) {
    const response = await app.inject({ method: 'GET', url, headers });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      json: () => response.json(),
    };
  }

  async function v2(body: unknown) {
    const response = await app.inject({ method: 'POST', url: '/api/v2/query', payload: body as object });
    return { status: response.statusCode, json: response.json() };
  }

  before(async () => {
    const stack = await testStack('serving-query');
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
    pool = new ClickHousePool([ch]);
    app = await buildApp(pool);
    await insertSite(ch, L, 'lambda.example', 'UTC');
    await insertSite(ch, B, 'berlin.example', 'Europe/Berlin');
    await insertSite(ch, K, 'kolkata.example', 'Asia/Kolkata');
    await insertSite(ch, R, 'rt.example', 'UTC');

    // Site L: two committed batch hours (10:00, 11:00), live hours after the watermark (12:00).
    await insertBatchHour(ch, L, '2026-10-25T10:00:00Z', {
      pageviews: 100,
      events: 120,
      visitors: [1, 2, 3],
      visits: 4,
      bounces: 1,
      duration: 400,
      revenue: 10.5,
    });
    await insertBatchHour(ch, L, '2026-10-25T11:00:00Z', {
      pageviews: 50,
      visitors: [3, 4],
      visits: 2,
      bounces: 2,
    });
    // A run of a live hour that was never committed: invisible.
    await insertBatchHour(
      ch,
      L,
      '2026-10-25T12:00:00Z',
      { pageviews: 999, visitors: [99] },
      '00000000-0000-0000-0000-000000000002',
    );
    // A run of a committed hour that is not its committed one (a recompute in flight, or one a
    // reprocess superseded): invisible too.
    await insertBatchHour(
      ch,
      L,
      '2026-10-25T10:00:00Z',
      { pageviews: 999, visitors: [99] },
      '00000000-0000-0000-0000-000000000002',
    );
    await insertBatchDimension(
      ch,
      L,
      '2026-10-25T10:00:00Z',
      'page',
      '/',
      { pageviews: 999, visitors: [99] },
      '00000000-0000-0000-0000-000000000002',
    );
    const dim = (hour: string, d: string, v: string, n: Parameters<typeof insertBatchDimension>[5]) =>
      insertBatchDimension(ch, L, `2026-10-25T${hour}:00:00Z`, d, v, n);
    await dim('10', 'page', '/', { pageviews: 60, visitors: [1, 2] });
    await dim('10', 'page', '/pricing', { pageviews: 40, visitors: [3] });
    await dim('10', 'event_name', 'pageview', { pageviews: 100, visitors: [1, 2, 3] });
    await dim('10', 'event_name', 'signup', { pageviews: 0, events: 20, visitors: [2], revenue: 10.5 });
    await dim('10', 'goal', 'Signup', { pageviews: 0, events: 20, visitors: [2], revenue: 10.5 });
    await dim('10', 'entry_page', '/', { pageviews: 0, visitors: [], visits: 3, bounces: 1 });
    await dim('10', 'entry_page', '/pricing', { pageviews: 0, visitors: [], visits: 1, bounces: 0 });
    await dim('11', 'page', '/', { pageviews: 50, visitors: [3, 4] });
    await dim('11', 'event_name', 'pageview', { pageviews: 50, visitors: [3, 4] });
    await dim('11', 'entry_page', '/', { pageviews: 0, visitors: [], visits: 2, bounces: 2 });
    await insertEvents(ch, [
      // Below the watermark the batch rows rule: these speed rows must not show.
      ...Array.from({ length: 7 }, () => pageview(L, '2026-10-25T10:30:00Z', 9, '/ignored')),
      pageview(L, '2026-10-25T12:05:00Z', 4, '/'),
      pageview(L, '2026-10-25T12:10:00Z', 5, '/docs'),
      pageview(L, '2026-10-25T12:20:00Z', 5, '/docs'),
      pageview(L, '2026-10-25T12:21:00Z', 5, '/docs', {
        name: 'signup',
        revenue_amount: '2.5',
        revenue_currency: 'EUR',
        props: { plan: 'pro' },
      }),
      pageview(L, '2026-10-25T13:30:00Z', 6, '/pricing'),
      pageview(L, '2026-10-25T13:31:00Z', 6, '/pricing'),
    ]);

    // Site B (Europe/Berlin): 2026-10-25 has 25 hours (CEST ends at 03:00, clocks go back to 02:00).
    await insertBatchHour(ch, B, '2026-10-24T21:00:00Z', { pageviews: 1, visitors: [11] }); // 23:00 CEST, 24th
    await insertBatchHour(ch, B, '2026-10-24T22:00:00Z', { pageviews: 10, visitors: [12] }); // 00:00 CEST, 25th
    await insertBatchHour(ch, B, '2026-10-25T01:00:00Z', { pageviews: 20, visitors: [13] }); // 02:00 CET, 25th
    // Site K (Asia/Kolkata, +05:30): a local day is made of the UTC hours that start in it.
    await insertBatchHour(ch, K, '2026-10-24T18:00:00Z', { pageviews: 8, visitors: [21] }); // starts 23:30 on the 24th
    await insertBatchHour(ch, K, '2026-10-24T19:00:00Z', { pageviews: 16, visitors: [22] }); // starts 00:30 on the 25th
    await insertEvents(ch, [
      ...Array.from({ length: 3 }, () => pageview(B, '2026-10-25T22:30:00Z', 14)), // 23:30 CET, 25th
      ...Array.from({ length: 4 }, () => pageview(B, '2026-10-25T23:10:00Z', 15)), // 00:10 CET, 26th
      pageview(K, '2026-10-25T18:10:00Z', 23), // 23:40 on the 25th
      ...Array.from({ length: 2 }, () => pageview(K, '2026-10-25T18:40:00Z', 23)), // 00:10 on the 26th, hour from 23:30
      ...Array.from({ length: 4 }, () => pageview(K, '2026-10-25T19:05:00Z', 24)), // 00:35 on the 26th
      // Realtime.
      pageview(R, new Date(now - 10_000).toISOString(), 1),
      pageview(R, new Date(now - 120_000).toISOString(), 2),
      pageview(R, new Date(now - 600_000).toISOString(), 3),
      pageview(R, new Date(now - 2_400_000).toISOString(), 4),
    ]);
    await commitBlock(ch);
  });

  after(async () => {
    await app?.close();
    await pool?.close();
    await cleanup?.();
  });

  const lRange = 'from=2026-10-25T10:00:00Z&to=2026-10-25T14:00:00Z';

  describe('timeseries', () => {
    it('splits at the watermark: batch hours below it, speed hours from it on', async () => {
      const r = await get(
        `/v1/sites/${L}/timeseries?metrics=pageviews,visitors,events,visits,revenue,conversions&interval=hour&${lRange}`,
      );
      assert.equal(r.status, 200, r.body);
      const body = r.json();
      assert.equal(body.authoritative_until, new Date(WATERMARK).toISOString());
      assert.deepEqual(body.results, [
        {
          time: '2026-10-25T10:00:00Z',
          pageviews: 100,
          visitors: 3,
          events: 120,
          visits: 4,
          revenue: 10.5,
          conversions: 1,
        },
        {
          time: '2026-10-25T11:00:00Z',
          pageviews: 50,
          visitors: 2,
          events: 50,
          visits: 2,
          revenue: 0,
          conversions: 0,
        },
        {
          time: '2026-10-25T12:00:00Z',
          pageviews: 3,
          visitors: 2,
          events: 4,
          visits: 0,
          revenue: 2.5,
          // Live hours: the speed layer has no visits and no goals.
          conversions: 0,
        },
        {
          time: '2026-10-25T13:00:00Z',
          pageviews: 2,
          visitors: 1,
          events: 2,
          visits: 0,
          revenue: 0,
          conversions: 0,
        },
      ]);
      assert.match(body.warnings[0], /^visits, conversions: only the batch layer computes/);
    });

    it('merges visitors over a day instead of adding hours (part batch, part speed)', async () => {
      const r = await get(
        `/v1/sites/${L}/timeseries?metrics=visitors,pageviews&interval=day&from=2026-10-25&to=2026-10-26`,
      );
      assert.deepEqual(r.json().results, [{ time: '2026-10-25T00:00:00Z', visitors: 6, pageviews: 155 }]);
    });

    it('builds Europe/Berlin days across the end of DST: a 25-hour day, labels with their offsets', async () => {
      const days = await get(
        `/v1/sites/${B}/timeseries?metrics=pageviews&interval=day&from=2026-10-24&to=2026-10-27`,
      );
      assert.equal(days.json().tz, 'Europe/Berlin');
      assert.deepEqual(days.json().results, [
        { time: '2026-10-24T00:00:00+02:00', pageviews: 1 },
        { time: '2026-10-25T00:00:00+02:00', pageviews: 33 },
        { time: '2026-10-26T00:00:00+01:00', pageviews: 4 },
      ]);
      const hours = (
        await get(`/v1/sites/${B}/timeseries?interval=hour&from=2026-10-25&to=2026-10-26`)
      ).json().results;
      assert.equal(hours.length, 25);
      assert.deepEqual(
        hours
          .filter((h: { time: string }) => h.time.startsWith('2026-10-25T02'))
          .map((h: { time: string }) => h.time),
        ['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00'],
      );
      assert.equal(
        hours.reduce((s: number, h: { pageviews: number }) => s + h.pageviews, 0),
        33,
      );
      const utc = await get(`/v1/sites/${B}/timeseries?interval=day&from=2026-10-24&to=2026-10-27&tz=UTC`);
      assert.deepEqual(
        utc.json().results.map((r: { pageviews: number }) => r.pageviews),
        [11, 27, 0],
      );
      const weeks = await get(`/v1/sites/${B}/timeseries?interval=week&from=2026-10-24&to=2026-10-27`);
      assert.deepEqual(weeks.json().results, [
        { time: '2026-10-19T00:00:00+02:00', pageviews: 34 },
        { time: '2026-10-26T00:00:00+01:00', pageviews: 4 },
      ]);
      const months = await get(`/v1/sites/${B}/timeseries?interval=month&from=2026-10-24&to=2026-10-27`);
      assert.deepEqual(months.json().results, [{ time: '2026-10-01T00:00:00+02:00', pageviews: 38 }]);
    });

    it('builds Asia/Kolkata (+05:30) days from the UTC hours that start in them', async () => {
      const days = await get(`/v1/sites/${K}/timeseries?interval=day&from=2026-10-24&to=2026-10-27`);
      assert.deepEqual(days.json().results, [
        { time: '2026-10-24T00:00:00+05:30', pageviews: 8 },
        // 16 (batch, from 00:30) + 1 + 2: the hour from 23:30 counts whole to the 25th.
        { time: '2026-10-25T00:00:00+05:30', pageviews: 19 },
        { time: '2026-10-26T00:00:00+05:30', pageviews: 4 },
      ]);
      const hours = await get(
        `/v1/sites/${K}/timeseries?interval=hour&from=2026-10-25T23:00:00%2B05:30&to=2026-10-26T01:00:00%2B05:30`,
      );
      assert.deepEqual(hours.json().results, [
        { time: '2026-10-25T23:30:00+05:30', pageviews: 3 },
        { time: '2026-10-26T00:30:00+05:30', pageviews: 4 },
      ]);
    });

    it('compares with the previous period of the same length', async () => {
      const r = await get(
        `/v1/sites/${L}/timeseries?interval=day&from=2026-10-25&to=2026-10-26&compare=previous_period`,
      );
      const body = r.json();
      assert.deepEqual(body.results, [{ time: '2026-10-25T00:00:00Z', pageviews: 155 }]);
      assert.deepEqual(body.comparison, {
        from: '2026-10-24T00:00:00Z',
        to: '2026-10-25T00:00:00Z',
        results: [{ time: '2026-10-24T00:00:00Z', pageviews: 0 }],
      });
    });

    it('answers minute buckets from speed_minute', async () => {
      const from = new Date(Math.floor(now / 60_000) * 60_000 - 3600_000).toISOString();
      const to = new Date(Math.floor(now / 60_000) * 60_000 + 60_000).toISOString();
      const r = await get(
        `/v1/sites/${R}/timeseries?interval=minute&metrics=pageviews&from=${from}&to=${to}`,
      );
      assert.equal(r.status, 200, r.body);
      const rows = r.json().results as { pageviews: number }[];
      assert.equal(rows.length, 61);
      assert.equal(
        rows.reduce((s, x) => s + x.pageviews, 0),
        4,
      );
      const tooLong = await get(`/v1/sites/${R}/timeseries?interval=minute&from=2026-10-01&to=2026-10-03`);
      assert.equal(tooLong.status, 400);
    });

    it('exports CSV', async () => {
      const r = await get(`/v1/sites/${L}/timeseries?metrics=pageviews,visitors&${lRange}&format=csv`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/csv/);
      assert.equal(
        r.body,
        'time,pageviews,visitors\r\n2026-10-25T10:00:00Z,100,3\r\n2026-10-25T11:00:00Z,50,2\r\n' +
          '2026-10-25T12:00:00Z,3,2\r\n2026-10-25T13:00:00Z,2,1\r\n',
      );
    });
    it('gives a batch hour its exact visitors, and wider buckets the merged sketches', async () => {
      // 200,000 visitors in one hour: more than the sketch counts exactly.
      const X = 'exact-site';
      await insertSite(ch, X, 'exact.example', 'UTC');
      await ch.command({
        query: `INSERT INTO batch_hourly (site_id, hour, run_id, logic_version, pageviews, events, visitors,
            visitors_state)
          SELECT {site:String}, toDateTime('2026-10-25 09:00:00', 'UTC'), '00000000-0000-0000-0000-000000000001',
            1, 200000, 200000, 200000, uniqCombined64State(number)
          FROM numbers(200000)`,
        query_params: { site: X },
      });
      const [sketch] = await (
        await ch.query({
          query: 'SELECT uniqCombined64(number) AS n FROM numbers(200000)',
          format: 'JSONEachRow',
        })
      ).json<{ n: number }>();
      assert.notEqual(Number(sketch!.n), 200000);
      const hour = await get(
        `/v1/sites/${X}/timeseries?metrics=visitors,pageviews&interval=hour&from=2026-10-25T09:00:00Z&to=2026-10-25T10:00:00Z`,
      );
      assert.equal(hour.status, 200, hour.body);
      assert.deepEqual(hour.json().results[0], {
        time: '2026-10-25T09:00:00Z',
        visitors: 200000,
        pageviews: 200000,
      });
      const day = await get(
        `/v1/sites/${X}/timeseries?metrics=visitors&interval=day&from=2026-10-25&to=2026-10-26`,
      );
      assert.equal(day.status, 200, day.body);
      assert.deepEqual(day.json().results[0], { time: '2026-10-25T00:00:00Z', visitors: Number(sketch!.n) });
    });
  });

  describe('aggregate', () => {
    it('totals every metric over the range, visitors merged', async () => {
      const metrics =
        'visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events,conversions,revenue';
      const r = await get(`/v1/sites/${L}/aggregate?metrics=${metrics}&${lRange}`);
      assert.equal(r.status, 200, r.body);
      const values = Object.fromEntries(
        Object.entries(r.json().results as Record<string, { value: number }>).map(([k, v]) => [k, v.value]),
      );
      assert.deepEqual(values, {
        visitors: 6,
        visits: 6,
        pageviews: 155,
        views_per_visit: 25,
        bounce_rate: 50,
        visit_duration: 67,
        events: 176,
        conversions: 1,
        revenue: 13,
      });
    });

    it('compares with the previous period', async () => {
      const r = await get(
        `/v1/sites/${L}/aggregate?metrics=pageviews,visitors&from=2026-10-25T12:00:00Z&to=2026-10-25T14:00:00Z&compare=previous_period`,
      );
      const body = r.json();
      assert.deepEqual(body.results, {
        pageviews: { value: 5, comparison_value: 150, change: -96.7 },
        visitors: { value: 3, comparison_value: 4, change: -25 },
      });
      assert.deepEqual(body.comparison, { from: '2026-10-25T10:00:00Z', to: '2026-10-25T12:00:00Z' });
    });
  });

  describe('filters', () => {
    const ts = (filters: unknown, metrics = 'pageviews') =>
      get(
        `/v1/sites/${L}/timeseries?metrics=${metrics}&${lRange}&filters=${encodeURIComponent(JSON.stringify(filters))}`,
      );
    const agg = (filters: unknown, metrics = 'pageviews,visitors') =>
      get(
        `/v1/sites/${L}/aggregate?metrics=${metrics}&${lRange}&filters=${encodeURIComponent(JSON.stringify(filters))}`,
      );
    const values = (r: { json(): { results: Record<string, { value: number }> } }) =>
      Object.fromEntries(Object.entries(r.json().results).map(([k, v]) => [k, v.value]));

    it('is / contains select the rows of the dimension, in batch and speed hours', async () => {
      for (const filter of [
        ['is', 'page', ['/pricing']],
        ['contains', 'page', ['pri']],
      ]) {
        const r = await ts([filter]);
        assert.equal(r.status, 200, r.body);
        assert.deepEqual(
          r.json().results.map((x: { pageviews: number }) => x.pageviews),
          [40, 0, 0, 2],
        );
      }
    });

    it('matches (RE2), is_not, and several filters on one dimension (AND)', async () => {
      assert.deepEqual(values(await agg([['matches', 'page', ['^/(docs|pricing)$']]])), {
        pageviews: 44,
        visitors: 3,
      });
      assert.deepEqual(values(await agg([['is_not', 'page', ['/']]])), { pageviews: 44, visitors: 3 });
      assert.deepEqual(
        values(
          await agg([
            ['contains', 'page', ['/']],
            ['is_not', 'page', ['/docs']],
          ]),
        ),
        { pageviews: 153, visitors: 5 },
      );
    });

    it('filters on custom props', async () => {
      assert.deepEqual(values(await agg([['is', 'prop:plan', ['pro']]], 'events,revenue,visitors')), {
        events: 1,
        revenue: 2.5,
        visitors: 1,
      });
    });

    it('refuses what per-dimension rollups cannot answer, and bad patterns, with a 400', async () => {
      const cross = await agg([
        ['is', 'page', ['/']],
        ['is', 'country', ['DE']],
      ]);
      assert.equal(cross.status, 400);
      assert.equal(cross.json().error.code, 'unsupported_query');
      assert.match(cross.json().error.message, /one dimension at a time/);
      const visits = await agg([['is', 'page', ['/']]], 'visits');
      assert.equal(visits.status, 400);
      assert.match(visits.json().error.message, /visits is not available for the dimension page/);
      const regex = await agg([['matches', 'page', ['((']]]);
      assert.equal(regex.status, 400);
      assert.equal(regex.json().error.code, 'invalid_filter');
    });
  });

  describe('breakdown', () => {
    it('sorts the values of a dimension, merges visitors across batch and speed, pages', async () => {
      const r = await get(
        `/v1/sites/${L}/breakdown?dimension=page&metrics=visitors,pageviews,events&${lRange}`,
      );
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json().results, [
        { value: '/', visitors: 4, pageviews: 111, events: 111 },
        { value: '/pricing', visitors: 2, pageviews: 42, events: 42 },
        { value: '/docs', visitors: 1, pageviews: 2, events: 3 },
      ]);
      const page2 = (await get(`/v1/sites/${L}/breakdown?dimension=page&${lRange}&limit=1&page=2`)).json();
      assert.deepEqual(page2.results, [{ value: '/pricing', visitors: 2 }]);
      assert.equal(page2.has_more, true);
      const asc = await get(
        `/v1/sites/${L}/breakdown?dimension=page&metrics=pageviews&${lRange}&order_by=pageviews:asc`,
      );
      assert.deepEqual(
        asc.json().results.map((x: { value: string }) => x.value),
        ['/docs', '/pricing', '/'],
      );
    });

    it('has visits and bounce rate on entry pages and conversions on goals', async () => {
      const entry = await get(
        `/v1/sites/${L}/breakdown?dimension=entry_page&metrics=visits,bounce_rate&${lRange}`,
      );
      assert.deepEqual(entry.json().results, [
        { value: '/', visits: 5, bounce_rate: 60 },
        { value: '/pricing', visits: 1, bounce_rate: 0 },
        // An entry in a live hour: the speed layer has no visits.
        { value: '/docs', visits: 0, bounce_rate: 0 },
      ]);
      const names = await get(
        `/v1/sites/${L}/breakdown?dimension=event_name&metrics=visitors,events&${lRange}`,
      );
      assert.deepEqual(names.json().results, [
        { value: 'pageview', visitors: 6, events: 155 },
        { value: 'signup', visitors: 2, events: 21 },
      ]);
      const goals = await get(`/v1/sites/${L}/breakdown?dimension=goal&metrics=conversions,events&${lRange}`);
      assert.deepEqual(goals.json().results, [{ value: 'Signup', conversions: 1, events: 20 }]);
      const noGoals = await get(`/v1/sites/${L}/breakdown?dimension=page&metrics=conversions&${lRange}`);
      assert.equal(noGoals.status, 400);
      assert.match(noGoals.json().error.message, /conversions is not available for the dimension page/);
    });

    it('exports CSV on Accept: text/csv', async () => {
      const r = await get(`/v1/sites/${L}/breakdown?dimension=page&metrics=visitors&${lRange}`, {
        accept: 'text/csv',
      });
      assert.equal(r.body, 'page,visitors\r\n/,4\r\n/pricing,2\r\n/docs,1\r\n');
    });
  });

  describe('realtime', () => {
    it('counts current visitors (5 minutes) and the last 30 minutes', async () => {
      const r = await get(`/v1/sites/${R}/realtime`);
      assert.equal(r.status, 200, r.body);
      const body = r.json();
      assert.equal(body.current_visitors, 2);
      assert.equal(body.authoritative_until, new Date(WATERMARK).toISOString());
      assert.equal(body.minutes.length, 30);
      assert.equal(
        body.minutes.reduce((s: number, m: { pageviews: number }) => s + m.pageviews, 0),
        3,
      );
    });
  });

  describe('POST /api/v2/query', () => {
    it('aggregates, with the resolved query echoed', async () => {
      const r = await v2({
        site_id: L,
        metrics: ['visitors', 'pageviews'],
        date_range: ['2026-10-25', '2026-10-25'],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.results, [{ metrics: [6, 155], dimensions: [] }]);
      assert.deepEqual(r.json.query.date_range, ['2026-10-25T00:00:00Z', '2026-10-25T23:59:59Z']);
      assert.equal(r.json.meta.authoritative_until, new Date(WATERMARK).toISOString());
    });

    it('time dimensions leave out empty buckets; the site may be named by its domain', async () => {
      const r = await v2({
        site_id: 'lambda.example',
        metrics: ['pageviews'],
        date_range: ['2026-10-25T10:00:00Z', '2026-10-25T13:59:59Z'],
        dimensions: ['time:hour'],
        filters: [['is', 'event:page', ['/pricing']]],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.results, [
        { metrics: [40], dimensions: ['2026-10-25 10:00:00'] },
        { metrics: [2], dimensions: ['2026-10-25 13:00:00'] },
      ]);
    });

    it('breaks down by event:page with order_by and pagination', async () => {
      const r = await v2({
        site_id: L,
        metrics: ['visitors', 'pageviews'],
        date_range: ['2026-10-25', '2026-10-25'],
        dimensions: ['event:page'],
        order_by: [['pageviews', 'asc']],
        pagination: { limit: 2, offset: 0 },
      });
      assert.deepEqual(r.json.results, [
        { metrics: [1, 2], dimensions: ['/docs'] },
        { metrics: [2, 42], dimensions: ['/pricing'] },
      ]);
      const days = await v2({
        site_id: B,
        metrics: ['pageviews'],
        date_range: ['2026-10-24', '2026-10-26'],
        dimensions: ['time:day'],
      });
      assert.deepEqual(days.json.results, [
        { metrics: [1], dimensions: ['2026-10-24'] },
        { metrics: [33], dimensions: ['2026-10-25'] },
        { metrics: [4], dimensions: ['2026-10-26'] },
      ]);
    });

    it('breaks down by a time dimension and another one, buckets in order', async () => {
      const r = await v2({
        site_id: L,
        metrics: ['pageviews'],
        date_range: ['2026-10-25T10:00:00Z', '2026-10-25T13:59:59Z'],
        dimensions: ['event:page', 'time:hour'],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.results, [
        { metrics: [60], dimensions: ['/', '2026-10-25 10:00:00'] },
        { metrics: [40], dimensions: ['/pricing', '2026-10-25 10:00:00'] },
        { metrics: [50], dimensions: ['/', '2026-10-25 11:00:00'] },
        { metrics: [2], dimensions: ['/docs', '2026-10-25 12:00:00'] },
        { metrics: [1], dimensions: ['/', '2026-10-25 12:00:00'] },
        { metrics: [2], dimensions: ['/pricing', '2026-10-25 13:00:00'] },
      ]);
      // Days in the site's zone (Berlin's pages are live rows only): 22:30Z on 25 October is 23:30
      // CET, after DST ended that night, so it stays on the 25th; 23:10Z is the 26th.
      const days = await v2({
        site_id: B,
        metrics: ['pageviews'],
        date_range: ['2026-10-24', '2026-10-26'],
        dimensions: ['time:day', 'event:page'],
        pagination: { limit: 1, offset: 1 },
      });
      assert.equal(days.status, 200, JSON.stringify(days.json));
      const all = await v2({
        site_id: B,
        metrics: ['pageviews'],
        date_range: ['2026-10-24', '2026-10-26'],
        dimensions: ['time:day', 'event:page'],
      });
      assert.deepEqual(days.json.results, all.json.results.slice(1, 2));
      const perDay = new Map<string, number>();
      for (const row of all.json.results) {
        perDay.set(row.dimensions[0], (perDay.get(row.dimensions[0]) ?? 0) + row.metrics[0]);
      }
      assert.deepEqual(Object.fromEntries(perDay), { '2026-10-25': 3, '2026-10-26': 4 });
      const minute = await v2({
        site_id: L,
        metrics: ['pageviews'],
        date_range: 'day',
        dimensions: ['time:minute', 'event:page'],
      });
      assert.equal(minute.status, 400);
      assert.match(minute.json.error.message, /time:minute/);
    });

    it('refuses unknown dimensions and metrics with a 400', async () => {
      const city = await v2({
        site_id: L,
        metrics: ['visitors'],
        date_range: '7d',
        dimensions: ['visit:city'],
      });
      assert.equal(city.status, 400);
      assert.match(city.json.error.message, /visit:city/);
      const metric = await v2({ site_id: L, metrics: ['scroll_depth'], date_range: '7d' });
      assert.equal(metric.status, 400);
      const unknown = await v2({ site_id: 'nope.example', metrics: ['visitors'], date_range: '7d' });
      assert.equal(unknown.status, 404);
    });
  });

  describe('OpenAPI', () => {
    it('describes every query route with its parameters', async () => {
      const docs = Fastify();
      await docs.register(openApiDocs);
      await docs.register(queryRoutes({ pool }));
      try {
        const r = await docs.inject({ method: 'GET', url: '/docs/json' });
        assert.equal(r.statusCode, 200, r.body);
        const spec = r.json() as {
          paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
        };
        for (const path of ['timeseries', 'aggregate', 'breakdown', 'realtime']) {
          assert.ok(spec.paths[`/v1/sites/{site}/${path}`]?.get, path);
        }
        assert.ok(spec.paths['/api/v2/query']?.post);
        const params = spec.paths['/v1/sites/{site}/timeseries']!.get!.parameters!.map((p) => p.name);
        for (const name of [
          'site',
          'metrics',
          'interval',
          'from',
          'to',
          'tz',
          'filters',
          'compare',
          'format',
        ]) {
          assert.ok(params.includes(name), name);
        }
      } finally {
        await docs.close();
      }
    });
  });

  describe('requests at once', () => {
    it('answers requests gathered into one query as it answers each alone', async () => {
      // One connection: while the first request's query runs, the others wait and are gathered
      // into queries over several sites (SiteReads); each must get exactly its own site's answer.
      const range = 'from=2026-10-24T00:00:00Z&to=2026-10-27T00:00:00Z';
      const urls = [L, B, K, R].flatMap((site) => [
        `/v1/sites/${site}/timeseries?metrics=visitors,pageviews,visits,conversions&interval=hour&${range}`,
        `/v1/sites/${site}/timeseries?metrics=visitors,pageviews,bounce_rate&interval=day&${range}`,
        `/v1/sites/${site}/aggregate?metrics=visitors,pageviews,visits,conversions&${range}&compare=previous_period`,
        `/v1/sites/${site}/breakdown?dimension=page&metrics=visitors,pageviews&${range}&limit=1`,
        `/v1/sites/${site}/breakdown?dimension=page&metrics=visitors&${range}&limit=1&page=2`,
      ]);
      const alone = [];
      for (const url of urls) alone.push((await get(url)).json());
      const together = await Promise.all(urls.map(async (url) => (await get(url)).json()));
      assert.deepEqual(together, alone);
      // L's aggregate: the answers hold numbers, not only zeros.
      assert.ok(alone[2].results.pageviews.value > 0, JSON.stringify(alone[2]));
    });
  });

  describe('safety', () => {
    const base = `/v1/sites/${L}`;
    const attack = "x' OR 1=1; DROP TABLE events_raw; --";
    const enc = encodeURIComponent(attack);

    it('answers injection attempts in every parameter with a 400', async () => {
      const urls = [
        `/v1/sites/${enc}/timeseries?${lRange}`,
        `${base}/timeseries?${lRange}&metrics=${enc}`,
        `${base}/timeseries?${lRange}&interval=${enc}`,
        `${base}/timeseries?from=${enc}&to=2026-10-26`,
        `${base}/timeseries?from=2026-10-25&to=${enc}`,
        `${base}/timeseries?${lRange}&tz=${enc}`,
        `${base}/timeseries?${lRange}&compare=${enc}`,
        `${base}/timeseries?${lRange}&format=${enc}`,
        `${base}/timeseries?${lRange}&${enc}=1`,
        `${base}/timeseries?${lRange}&filters=${enc}`,
        `${base}/timeseries?${lRange}&filters=${encodeURIComponent(JSON.stringify([[attack, 'page', ['/']]]))}`,
        `${base}/timeseries?${lRange}&filters=${encodeURIComponent(JSON.stringify([['is', attack, ['/']]]))}`,
        `${base}/timeseries?${lRange}&filters=${encodeURIComponent(JSON.stringify([['is', `prop:${attack}`, ['/']]]))}`,
        `${base}/aggregate?${lRange}&metrics=${enc}`,
        `${base}/breakdown?${lRange}&dimension=${enc}`,
        `${base}/breakdown?${lRange}&dimension=page&order_by=${enc}`,
        `${base}/breakdown?${lRange}&dimension=page&limit=${enc}`,
        `${base}/breakdown?${lRange}&dimension=page&page=${enc}`,
        `/v1/sites/${enc}/realtime`,
        `/v1/sites/${L}/realtime?tz=${enc}`,
      ];
      for (const url of urls) {
        const r = await get(url);
        assert.equal(r.status, 400, `${url}: ${r.body}`);
        assert.ok(r.json().error.code, url);
      }
      const bodies = [
        { site_id: attack, metrics: ['visitors'], date_range: '7d' },
        { site_id: L, metrics: [attack], date_range: '7d' },
        { site_id: L, metrics: ['visitors'], date_range: attack },
        { site_id: L, metrics: ['visitors'], date_range: '7d', dimensions: [attack] },
        { site_id: L, metrics: ['visitors'], date_range: '7d', filters: [['is', attack, ['/']]] },
        { site_id: L, metrics: ['visitors'], date_range: '7d', order_by: [[attack, 'desc']] },
        { site_id: L, metrics: ['visitors'], date_range: '7d', [attack]: 1 },
      ];
      for (const body of bodies) {
        const r = await v2(body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
      }
      const [count] = await (
        await ch.query({ query: 'SELECT count() AS n FROM events_raw', format: 'JSONEachRow' })
      ).json<{
        n: string;
      }>();
      assert.ok(Number(count?.n) > 0, 'events_raw is still there');
    });

    it('treats filter values as data, never as SQL', async () => {
      const r = await get(
        `${base}/aggregate?${lRange}&filters=${encodeURIComponent(
          JSON.stringify([
            ['is', 'page', [attack]],
            ['contains', 'page', ["'"]],
          ]),
        )}`,
      );
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json().results.pageviews.value, 0);
    });

    it('limits range length and page depth', async () => {
      assert.equal((await get(`${base}/timeseries?from=2024-01-01&to=2026-01-01`)).status, 400);
      assert.equal((await get(`${base}/breakdown?${lRange}&dimension=page&limit=1000&page=11`)).status, 400);
      assert.equal((await get(`${base}/timeseries?from=2026-10-26&to=2026-10-25`)).status, 400);
      assert.equal((await get(`/v1/sites/no-such-site/timeseries?${lRange}`)).status, 404);
    });

    it('answers 503 with Retry-After when ClickHouse runs over the time limit', async () => {
      const slow = await buildApp(pool, 0.000_001);
      try {
        const r = await slow.inject({
          method: 'GET',
          url: `${base}/timeseries?interval=hour&from=2025-10-01&to=2026-10-30`,
        });
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.headers['retry-after'], '5');
        assert.equal(r.json().error.code, 'unavailable');
      } finally {
        await slow.close();
      }
    });
  });
});
