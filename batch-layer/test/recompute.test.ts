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
import { cleanupSupersededRuns, supersededRuns } from '../src/cleanup.js';
import { currentLogic, LOGIC_VERSION, recomputeHour } from '../src/recompute-hour.js';

const H = Date.UTC(2026, 10, 20, 10);
const at = (hh: number, mm: number) => Date.UTC(2026, 10, 20, hh, mm);
const DAY = 24 * 3600_000;
let offset = 0;

function row(e: StoredEvent) {
  offset += 1;
  return { ...e, kafka_partition: 0, kafka_offset: offset, kafka_ts: e.received_at };
}

/** The committed numbers of one site in the hour H. */
async function committedHourly(ch: ClickHouseClient, site: string) {
  const result = await ch.query({
    query: `SELECT toString(hour) AS hour, pageviews, events, visitors, visits, bounces, visit_duration_seconds,
              conversions, toString(revenue) AS revenue
            FROM batch_hourly
            WHERE site_id = {site:String} AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
              AND batch_hourly.hour = {hour:DateTime('UTC')}`,
    query_params: { site, hour: '2026-11-20 10:00:00' },
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
  let config: Parameters<typeof createClickHouse>[0];
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('batch-recompute');
    cleanup = stack.cleanup;
    config = stack.config;
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
    const goal = (name: string, fields: Record<string, string | boolean>, version = 1) => ({
      site_id: 'a',
      name,
      event_name: '',
      page_path: '',
      page_regex: '',
      created_at: '2026-11-20 00:00:00.000',
      version,
      ...fields,
    });
    await ch.insert({
      table: 'site_goals',
      values: [
        goal('Purchase', { event_name: 'purchase' }),
        goal('Visit /blog*', { page_path: '/blog*', page_regex: '^/blog.*$' }),
        goal('Visit /pri*', { page_path: '/pri*', page_regex: '^/pri.*$' }),
        // Deleted: a later version with deleted = true; scrolls must not convert.
        goal('Scrolled', { event_name: 'scroll' }),
        goal('Scrolled', { event_name: 'scroll', deleted: true }, 2),
      ],
      format: 'JSONEachRow',
    });
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  it('counts every metric of the hour exactly: dedup, bots, sessions across the hour boundary, bounces, goals', async () => {
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
        // Visitors who reached a goal: 1 (Visit /blog*) and 3 (Purchase, Visit /pri*).
        conversions: 2,
        revenue: '9.99',
      },
    ]);
    assert.equal((await committedHourly(ch, 'b'))[0]!.visits, 1);
  });

  it('computes the dimensions: pages, events, props, goals, and entry/exit pages and sources from visits', async () => {
    const result = await ch.query({
      query: `SELECT dimension, value, pageviews, events, visitors, visits, bounces
              FROM batch_dimensions_hourly
              WHERE site_id = 'a' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                AND dimension NOT IN ('country', 'browser', 'os', 'device')
              ORDER BY dimension, value`,
      format: 'JSONEachRow',
    });
    const rows = (await result.json<Record<string, string | number>>()).map((r) =>
      [r.dimension, r.value, r.pageviews, r.events, r.visitors, r.visits, r.bounces].map((v) =>
        typeof v === 'string' ? v : Number(v),
      ),
    );
    // Visits (in the hour they start, with everything they contain): visitor 1 from 10:50 (/, then
    // /docs at 11:10), visitor 2 (/ and a scroll: a bounce), visitor 3 (/pricing and a purchase).
    assert.deepEqual(rows, [
      ['channel', 'direct', 4, 6, 3, 3, 1],
      ['entry_page', '/', 3, 4, 2, 2, 1],
      ['entry_page', '/pricing', 1, 2, 1, 1, 0],
      ['event_name', 'pageview', 4, 4, 3, 0, 0],
      ['event_name', 'purchase', 0, 1, 1, 0, 0],
      ['event_name', 'scroll', 0, 1, 1, 0, 0],
      ['exit_page', '/', 1, 2, 1, 1, 1],
      ['exit_page', '/docs', 2, 2, 1, 1, 0],
      ['exit_page', '/pricing', 1, 2, 1, 1, 0],
      ['goal', 'Purchase', 0, 1, 1, 0, 0],
      ['goal', 'Visit /blog*', 1, 1, 1, 0, 0],
      ['goal', 'Visit /pri*', 1, 1, 1, 0, 0],
      ['page', '/', 2, 3, 2, 0, 0],
      ['page', '/blog', 1, 1, 1, 0, 0],
      ['page', '/pricing', 1, 2, 1, 0, 0],
      ['prop:plan', 'pro', 0, 1, 1, 0, 0],
      ['referrer_source', '', 4, 6, 3, 3, 1],
    ]);
    const [revenue] = await (
      await ch.query({
        query: `SELECT toString(sum(revenue)) AS r FROM batch_dimensions_hourly
                WHERE site_id = 'a' AND dimension = 'goal' AND value = 'Purchase'
                  AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)`,
        format: 'JSONEachRow',
      })
    ).json<{ r: string }>();
    assert.equal(revenue!.r, '9.99', 'a goal carries the revenue of its conversions');
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
  it('--sites: recomputes only the sites asked for and carries the others over in the same commit', async () => {
    // Late events for both sites arrive after the hour was committed.
    await ch.insert({
      table: 'events_raw',
      values: [
        makeStoredEvent({ site_id: 'a', visitor_id: '4', pathname: '/late', at: at(10, 40) }),
        makeStoredEvent({ site_id: 'b', visitor_id: '4', pathname: '/late', at: at(10, 40) }),
      ].map(row),
      format: 'JSONEachRow',
    });
    const beforeB = await committedHourly(ch, 'b');
    const scoped = await recomputeHour(ch, new Date(H), { reason: 'test', sites: ['a'] });
    assert.deepEqual(scoped.sites, ['a']);
    assert.equal(
      scoped.inputRows,
      9,
      "only site a's rows of the hour are read (a duplicate and a bot among them)",
    );
    assert.equal((await committedHourly(ch, 'a'))[0]!.pageviews, 5, 'site a has its late pageview');
    assert.deepEqual(await committedHourly(ch, 'b'), beforeB, 'site b keeps its committed numbers');
    const dims = await (
      await ch.query({
        query: `SELECT site_id, count() AS n FROM batch_dimensions_hourly
                WHERE (hour, run_id) IN (SELECT hour, run_id FROM batch_committed) AND hour = {h:DateTime('UTC')}
                GROUP BY site_id ORDER BY site_id`,
        query_params: { h: '2026-11-20 10:00:00' },
        format: 'JSONEachRow',
      })
    ).json<{ site_id: string; n: number }>();
    assert.deepEqual(
      dims.map((d) => d.site_id),
      ['a', 'b'],
      "the committed run has both sites' dimension rows",
    );
    const [run] = await (
      await ch.query({
        query: `SELECT sites FROM batch_runs WHERE run_id = {run:UUID} AND status = 'committed'`,
        query_params: { run: scoped.runId },
        format: 'JSONEachRow',
      })
    ).json<{ sites: string[] }>();
    assert.deepEqual(run!.sites, ['a']);

    await recomputeHour(ch, new Date(H), { reason: 'test' });
    assert.equal((await committedHourly(ch, 'b'))[0]!.pageviews, 2, 'a full run takes in site b too');
  });

  it('--sites on an hour never committed recomputes every site (the watermark must not skip any)', async () => {
    const never = H - 5 * 3600_000;
    await ch.insert({
      table: 'events_raw',
      values: [
        makeStoredEvent({ site_id: 'a', visitor_id: '7', at: never + 60_000 }),
        makeStoredEvent({ site_id: 'b', visitor_id: '7', at: never + 60_000 }),
      ].map(row),
      format: 'JSONEachRow',
    });
    const result = await recomputeHour(ch, new Date(never), { reason: 'test', sites: ['a'] });
    assert.deepEqual(result.sites, []);
    const [committed] = await (
      await ch.query({
        query: `SELECT groupArray(site_id) AS sites FROM (SELECT site_id FROM batch_hourly
                WHERE (hour, run_id) IN (SELECT hour, run_id FROM batch_committed) AND hour = {h:DateTime('UTC')} ORDER BY site_id)`,
        query_params: { h: '2026-11-20 05:00:00' },
        format: 'JSONEachRow',
      })
    ).json<{ sites: string[] }>();
    assert.deepEqual(committed!.sites, ['a', 'b']);
  });

  it('a logic variant records its version and changes exactly the numbers that depend on it', async () => {
    const dimsOf = async () =>
      (
        await ch.query({
          query: `SELECT dimension, value, pageviews, events, visitors, visits, bounces, logic_version
                  FROM batch_dimensions_hourly
                  WHERE site_id = 'a' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                    AND hour = {h:DateTime('UTC')}
                  ORDER BY dimension, value`,
          query_params: { h: '2026-11-20 10:00:00' },
          format: 'JSONEachRow',
        })
      ).json<Record<string, string | number>>();
    const before = (await committedHourly(ch, 'a'))[0]!;
    const dimsBefore = await dimsOf();
    // A visit ends after 10 minutes idle instead of 30: visitor 1's 10:05 pageview (15 minutes after
    // 09:50) starts a visit of its own, and 10:50 no longer goes on to 11:10.
    const variant = { version: LOGIC_VERSION + 1, sessionGapSeconds: 600 };
    const result = await recomputeHour(ch, new Date(H), { reason: 'test', logic: variant });
    assert.equal(result.logicVersion, variant.version);
    const after = (await committedHourly(ch, 'a'))[0]!;
    assert.deepEqual(after, {
      ...before,
      visits: 5,
      bounces: 4,
      visit_duration_seconds: 2 * 60 + 60,
    });
    const dimsAfter = await dimsOf();
    assert.ok(dimsAfter.every((d) => Number(d.logic_version) === variant.version));
    const perEvent = (rows: Record<string, string | number>[]) =>
      rows
        .filter(
          (d) => !['entry_page', 'exit_page', 'referrer_source', 'channel'].includes(String(d.dimension)),
        )
        .map(({ logic_version: _, ...d }) => d);
    assert.deepEqual(
      perEvent(dimsAfter),
      perEvent(dimsBefore),
      'per-event dimensions do not depend on visits',
    );
    const entry = dimsAfter.find((d) => d.dimension === 'entry_page' && d.value === '/blog');
    assert.equal(Number(entry?.visits), 1, 'the new visit entered on /blog');
    const versions = await (
      await ch.query({
        query: `SELECT
          (SELECT logic_version FROM batch_committed WHERE hour = {h:DateTime('UTC')}) AS committed,
          (SELECT logic_version FROM batch_runs WHERE run_id = {run:UUID} AND status = 'committed') AS run,
          (SELECT any(logic_version) FROM batch_hourly WHERE run_id = {run:UUID}) AS hourly`,
        query_params: { h: '2026-11-20 10:00:00', run: result.runId },
        format: 'JSONEachRow',
      })
    ).json<Record<string, number>>();
    assert.deepEqual(versions[0], {
      committed: variant.version,
      run: variant.version,
      hourly: variant.version,
    });

    // Back to the current logic: the numbers are those of before the variant.
    await recomputeHour(ch, new Date(H), { reason: 'test', logic: currentLogic });
    assert.deepEqual(await committedHourly(ch, 'a'), [before]);
  });

  it('cleanup deletes superseded and failed runs after the grace period, never the committed or a running one', async () => {
    const rowsOfRun = async (run: string) => {
      const [r] = await (
        await ch.query({
          query: `SELECT (SELECT count() FROM batch_hourly WHERE run_id = {run:UUID})
                    + (SELECT count() FROM batch_dimensions_hourly WHERE run_id = {run:UUID}) AS n`,
          query_params: { run },
          format: 'JSONEachRow',
        })
      ).json<{ n: number }>();
      return Number(r!.n);
    };
    const committed = await recomputeHour(ch, new Date(H), { reason: 'test' });
    // A run still being written (started, rows half there, no commit yet) and a run that failed.
    const running = '00000000-0000-4000-8000-000000000001';
    const failed = '00000000-0000-4000-8000-000000000002';
    const now = Date.now();
    for (const [run, statuses] of [
      [running, ['started']],
      [failed, ['started', 'failed']],
    ] as const) {
      await ch.command({
        query: `INSERT INTO batch_hourly (site_id, hour, run_id, pageviews)
                VALUES ('a', {h:DateTime('UTC')}, {run:UUID}, 1000)`,
        query_params: { h: '2026-11-20 10:00:00', run },
      });
      await ch.insert({
        table: 'batch_runs',
        values: statuses.map((status) => ({
          hour: '2026-11-20 10:00:00',
          run_id: run,
          status,
          reason: 'test',
          finished_at: new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
        })),
        format: 'JSONEachRow',
      });
    }
    const superseded = (await supersededRuns(ch, { now: now + 60 * 60_000 })).map((r) => r.run_id);
    assert.equal(superseded.length, 7, 'the six earlier committed runs of hour H and the failed one');
    assert.ok(superseded.includes(failed));
    assert.ok(!superseded.includes(running), 'a run being written is left alone');
    assert.ok(!superseded.includes(committed.runId));

    assert.deepEqual(
      await cleanupSupersededRuns(ch, { now }),
      { runs: 0 },
      'within the grace period: nothing',
    );
    const before = await committedHourly(ch, 'a');
    const cleaned = await cleanupSupersededRuns(ch, { now: now + 60 * 60_000 });
    assert.equal(cleaned.runs, superseded.length);
    assert.equal(await rowsOfRun(failed), 0);
    assert.equal(await rowsOfRun(running), 1);
    assert.ok((await rowsOfRun(committed.runId)) > 0);
    assert.deepEqual(await committedHourly(ch, 'a'), before, 'readers see the same numbers');
    const [left] = await (
      await ch.query({
        query: `SELECT uniqExact(run_id) AS n FROM batch_hourly WHERE hour = {h:DateTime('UTC')}`,
        query_params: { h: '2026-11-20 10:00:00' },
        format: 'JSONEachRow',
      })
    ).json<{ n: number }>();
    assert.equal(Number(left!.n), 2, 'the committed run and the one being written');
    assert.deepEqual(
      await cleanupSupersededRuns(ch, { now: now + 60 * 60_000 }),
      { runs: 0 },
      'cleaned once',
    );
    const leftover = `batch_work_${'0'.repeat(31)}1_events`;
    await ch.command({ query: `CREATE TABLE ${leftover} (x UInt8) ENGINE = Memory` });
    const tables = async () =>
      (
        await (
          await ch.query({
            query:
              "SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, 'batch_work_')",
            format: 'JSONEachRow',
          })
        ).json<{ name: string }>()
      ).map((t) => t.name);
    assert.deepEqual(await tables(), [leftover], 'recomputes drop their own work tables');
    const abandoned = await cleanupSupersededRuns(ch, { now: now + 7 * 3600_000 });
    assert.deepEqual(await tables(), [], "a dead worker's work tables are dropped");
    assert.equal(abandoned.runs, 1, 'a run that never finished is deleted once abandoned');
    assert.equal(await rowsOfRun(running), 0);
  });

  it("takes the first event's source, channel and UTM values, whatever bytes they hold", async () => {
    // UTM values are decoded from the landing URL, so they can hold a colon or a NUL (%00); the
    // visits carry the seven fields packed into one string and must give each back unchanged.
    const odd = 'a:b\0c:';
    const entry = {
      referrer_source: 'News: Daily',
      channel: 'referral',
      utm_source: odd,
      utm_medium: ':',
      utm_campaign: '',
      utm_content: '\0',
      utm_term: 'x',
    };
    const events = [
      makeStoredEvent({ site_id: 'c', visitor_id: '1', at: at(10, 1) + DAY, ...entry }),
      // Later events of the same visit with other values: the visit keeps its entry's.
      makeStoredEvent({
        site_id: 'c',
        visitor_id: '1',
        at: at(10, 2) + DAY,
        utm_source: 'other',
        channel: 'direct',
      }),
      // Another visitor's visit from direct traffic.
      makeStoredEvent({ site_id: 'c', visitor_id: '2', at: at(10, 3) + DAY }),
    ];
    await ch.insert({ table: 'events_raw', values: events.map(row), format: 'JSONEachRow' });
    // An hour of its own, the day after: the tests above count the runs of hour H.
    await recomputeHour(ch, new Date(H + DAY), { reason: 'test' });
    const result = await ch.query({
      query: `SELECT dimension, hex(value) AS value, visits
              FROM batch_dimensions_hourly
              WHERE site_id = 'c' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                AND dimension IN ('referrer_source', 'channel', 'utm_source', 'utm_medium', 'utm_campaign',
                                  'utm_content', 'utm_term')
              ORDER BY dimension, value`,
      format: 'JSONEachRow',
    });
    const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
    const rows = (await result.json<Record<string, string | number>>()).map((r) =>
      [r.dimension, r.value, Number(r.visits)].join(' '),
    );
    const expected = [
      ['channel', hex('direct'), 1],
      ['channel', hex('referral'), 1],
      ['referrer_source', '', 1],
      ['referrer_source', hex('News: Daily'), 1],
      ['utm_content', hex('\0'), 1],
      ['utm_medium', hex(':'), 1],
      ['utm_source', hex(odd), 1],
      ['utm_term', hex('x'), 1],
    ].map((r) => r.join(' '));
    assert.deepEqual(rows.sort(), expected.sort());
  });

  it('keeps the first delivery of each event once, however often and whenever it was stored again', async () => {
    const hour = H + 2 * DAY;
    const minute = (mm: number) => hour + mm * 60_000;
    /** Another copy of an event, stored at `mm` past the hour, with a path that tells it apart. */
    const copy = (event: StoredEvent, mm: number, pathname: string) => ({
      ...event,
      received_at: makeStoredEvent({ at: minute(mm) }).received_at,
      pathname,
    });
    const retried = makeStoredEvent({ site_id: 'd', visitor_id: '1', pathname: '/retried', at: minute(1) });
    const twice = makeStoredEvent({ site_id: 'd', visitor_id: '2', pathname: '/twice', at: minute(5) });
    const thrice = makeStoredEvent({ site_id: 'd', visitor_id: '3', pathname: '/thrice', at: minute(7) });
    const once = makeStoredEvent({ site_id: 'd', visitor_id: '4', pathname: '/once', at: minute(9) });
    const events = [
      // A client's retry: a later copy.
      retried,
      copy(retried, 3, '/later'),
      // The first delivery stored twice (the same message written again), and a retry after it.
      twice,
      twice,
      copy(twice, 6, '/later'),
      // Three deliveries, each at its own time.
      thrice,
      copy(thrice, 8, '/later'),
      copy(thrice, 10, '/later'),
      once,
    ];
    await ch.insert({ table: 'events_raw', values: events.map(row), format: 'JSONEachRow' });
    await recomputeHour(ch, new Date(hour), { reason: 'test' });
    const pages = await (
      await ch.query({
        query: `SELECT value, events, visitors FROM batch_dimensions_hourly
                WHERE site_id = 'd' AND dimension = 'page' AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                ORDER BY value`,
        format: 'JSONEachRow',
      })
    ).json<{ value: string; events: number; visitors: number }>();
    assert.deepEqual(
      pages.map((p) => [p.value, Number(p.events), Number(p.visitors)]),
      [
        ['/once', 1, 1],
        ['/retried', 1, 1],
        ['/thrice', 1, 1],
        ['/twice', 1, 1],
      ],
    );
  });

  it('gives the same rows when its statements run at once on a second connection', async () => {
    const hour = new Date(H + 2 * DAY);
    /** Every output row of a run, its sketches as the counts they hold. */
    const rowsOf = async (run: string) => {
      const tables: Record<string, unknown>[][] = [];
      for (const table of ['batch_hourly', 'batch_dimensions_hourly']) {
        const result = await ch.query({
          query: `SELECT * EXCEPT (run_id, visitors_state), finalizeAggregation(visitors_state) AS sketch
                  FROM ${table} WHERE run_id = {run:UUID} ORDER BY ALL`,
          query_params: { run },
          format: 'JSONEachRow',
        });
        tables.push(await result.json<Record<string, unknown>>());
      }
      return tables;
    };
    const second = createClickHouse(config);
    try {
      const one = await recomputeHour(ch, hour, { reason: 'test' });
      const two = await recomputeHour(ch, hour, { reason: 'test', alongside: second });
      const [hourly, dimensions] = await rowsOf(one.runId);
      assert.ok(hourly!.some((r) => r.site_id === 'd'));
      assert.ok(dimensions!.some((r) => r.dimension === 'page' && r.value === '/twice'));
      assert.deepEqual(await rowsOf(two.runId), [hourly, dimensions]);
    } finally {
      await second.close();
    }
  });

  it('counts a visit in the hour it started, whether its visitor made one visit in the window or several', async () => {
    const later = (hh: number, mm: number) => at(hh, mm) + 3 * DAY;
    const pageview = (visitor: string, pathname: string, time: number) =>
      makeStoredEvent({ site_id: 'c', visitor_id: visitor, pathname, at: time });
    const events = [
      // One visit that began before the hour: its visitor and pageview count in the hour, its visit
      // does not.
      pageview('1', '/', later(9, 45)),
      pageview('1', '/a', later(10, 5)),
      // One visit in the hour: not a bounce, two minutes long.
      pageview('2', '/', later(10, 10)),
      pageview('2', '/b', later(10, 12)),
      // Two visits, 45 minutes apart: the one before the hour left out, the one in it counted.
      pageview('3', '/', later(9, 35)),
      pageview('3', '/c', later(10, 20)),
      pageview('3', '/d', later(10, 25)),
    ];
    await ch.insert({ table: 'events_raw', values: events.map(row), format: 'JSONEachRow' });
    const { runId } = await recomputeHour(ch, new Date(later(10, 0)), { reason: 'test' });
    const [hourly] = await (
      await ch.query({
        query: `SELECT pageviews, visitors, visits, bounces, visit_duration_seconds FROM batch_hourly
                WHERE run_id = {run:UUID} AND site_id = 'c'`,
        query_params: { run: runId },
        format: 'JSONEachRow',
      })
    ).json<Record<string, number>>();
    assert.deepEqual(Object.fromEntries(Object.entries(hourly!).map(([k, v]) => [k, Number(v)])), {
      pageviews: 5,
      visitors: 3,
      visits: 2,
      bounces: 0,
      visit_duration_seconds: 2 * 60 + 5 * 60,
    });
    const pages = await (
      await ch.query({
        query: `SELECT dimension, value, visits FROM batch_dimensions_hourly
                WHERE run_id = {run:UUID} AND site_id = 'c' AND dimension IN ('entry_page', 'exit_page')
                ORDER BY dimension, value`,
        query_params: { run: runId },
        format: 'JSONEachRow',
      })
    ).json<{ dimension: string; value: string; visits: string }>();
    assert.deepEqual(
      pages.map((p) => [p.dimension, p.value, Number(p.visits)]),
      [
        ['entry_page', '/', 1],
        ['entry_page', '/c', 1],
        ['exit_page', '/b', 1],
        ['exit_page', '/d', 1],
      ],
    );
  });
});
