import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouseClient,
  type Config,
  createClickHouse,
  createLogger,
  createRedis,
  createSite,
  migrate,
  type Redis,
} from '@sightline/core';
import { makeStoredEvent, streamlessMigration, testStack } from '@sightline/core/testing';
import { BatchLayer } from '../src/batch-layer.js';
import { type BatchLogic, currentLogic } from '../src/recompute-hour.js';
import { floorHour, HOUR_MS } from '../src/watermark.js';

/** Two hours ago: closed, so the first plan commits it, and it is the only hour with data. */
const H = floorHour(Date.now()) - 2 * HOUR_MS;
const hourParam = new Date(H).toISOString().slice(0, 19).replace('T', ' ');

describe('the batch layer through its queue: plan, reprocess, logic versions, sites', () => {
  let ch: ClickHouseClient;
  let redis: Redis;
  let config: Config;
  let cleanup: () => Promise<void>;
  let x: string;
  let y: string;
  const logger = createLogger({ LOG_LEVEL: 'fatal' });

  before(async () => {
    const stack = await testStack('batch-queue');
    cleanup = stack.cleanup;
    config = stack.config;
    ch = createClickHouse(config);
    redis = createRedis(config, { forBullMQ: true });
    await migrate(ch, streamlessMigration);
    x = (await createSite(ch, { domain: 'x.example', timezone: 'UTC', allowed_hostnames: [] })).site_id;
    y = (await createSite(ch, { domain: 'y.example', timezone: 'UTC', allowed_hostnames: [] })).site_id;
    // For each site, one visitor with pageviews 15 minutes apart: one visit with the current rule
    // (30 minutes), two with a 10-minute rule.
    const events = [x, y].flatMap((site) => [
      makeStoredEvent({ site_id: site, visitor_id: '1', pathname: '/', at: H + 60_000 }),
      makeStoredEvent({ site_id: site, visitor_id: '1', pathname: '/next', at: H + 16 * 60_000 }),
    ]);
    await ch.insert({
      table: 'events_raw',
      values: events.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: i, kafka_ts: e.received_at })),
      format: 'JSONEachRow',
    });
  });
  after(async () => {
    await ch?.close();
    redis?.disconnect();
    await cleanup?.();
  });

  async function committed(site: string) {
    const [row] = await (
      await ch.query({
        query: `SELECT pageviews, visits, bounces, logic_version FROM batch_hourly
                WHERE site_id = {site:String} AND hour = {h:DateTime('UTC')}
                  AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)`,
        query_params: { site, h: hourParam },
        format: 'JSONEachRow',
      })
    ).json<Record<string, number>>();
    return row && Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  }

  async function until(check: () => Promise<boolean>, what: string, ms = 30_000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`not reached within ${ms} ms: ${what}`);
  }

  async function withLayer(logic: BatchLogic, body: (batch: BatchLayer) => Promise<void>) {
    const batch = await BatchLayer.start({ config, ch, redis, logger, logic });
    try {
      await body(batch);
    } finally {
      await batch.close();
    }
  }

  it('the start-up plan commits the closed hours with the current logic', async () => {
    await withLayer(currentLogic, async (batch) => {
      await until(async () => (await committed(x)) !== undefined, 'hour committed by the plan');
      assert.deepEqual(await committed(x), {
        pageviews: 2,
        visits: 1,
        bounces: 0,
        logic_version: currentLogic.version,
      });
      // Every closed hour from the first one with data on (H and the empty hour after it) is
      // committed: the watermark reaches the current hour.
      await until(
        async () =>
          ((await batch.status()) as { watermark: string }).watermark ===
          new Date(floorHour(Date.now())).toISOString(),
        'the watermark at the current hour',
      );
      const status = (await batch.status()) as { logic_version: number };
      assert.equal(status.logic_version, currentLogic.version);
    });
  });

  it('a logic-version bump plus a reprocess of some sites changes exactly their visit numbers', async () => {
    const bumped: BatchLogic = { version: currentLogic.version + 1, sessionGapSeconds: 600 };
    await withLayer(bumped, async (batch) => {
      assert.deepEqual(await batch.reprocess(new Date(H), new Date(H + HOUR_MS), ['s_unknown']), {
        unknownSites: ['s_unknown'],
      });
      const since = Date.now() - 1;
      assert.deepEqual(await batch.reprocess(new Date(H), new Date(H + HOUR_MS), [x]), { hours: 1 });
      // Only this hour's runs: the start-up plan may still be committing other closed hours.
      const range = { from: new Date(H), to: new Date(H + HOUR_MS) };
      await until(async () => (await batch.runsSince(since, range)).committed === 1, 'reprocess committed');
      assert.deepEqual(await committed(x), {
        pageviews: 2,
        visits: 2,
        bounces: 2,
        logic_version: bumped.version,
      });
      assert.deepEqual(
        await committed(y),
        { pageviews: 2, visits: 1, bounces: 0, logic_version: currentLogic.version },
        'the site not reprocessed keeps its numbers and the version that made them',
      );
      const status = (await batch.status()) as {
        last_runs: { hour: string; logic_version: number; sites: string[] }[];
      };
      const run = status.last_runs.find((r) => r.hour === hourParam);
      assert.deepEqual(
        { version: run?.logic_version, sites: run?.sites },
        { version: bumped.version, sites: [x] },
      );

      const again = Date.now() - 1;
      await batch.reprocess(new Date(H), new Date(H + HOUR_MS));
      await until(async () => (await batch.runsSince(again, range)).committed === 1, 'full reprocess');
      assert.deepEqual(await committed(y), {
        pageviews: 2,
        visits: 2,
        bounces: 2,
        logic_version: bumped.version,
      });
    });
  });
  it("two site-scoped reprocesses of one hour running at once keep both sites' new numbers", async () => {
    // Each run carries the other sites over from the committed run it started from: without one
    // run of an hour at a time, the later commit would bring back the first one's sites as they were.
    const bumped: BatchLogic = { version: currentLogic.version + 2, sessionGapSeconds: 600 };
    const concurrent = { ...config, BATCH_CONCURRENCY: 2 };
    const batch = await BatchLayer.start({
      config: concurrent,
      ch,
      redis,
      logger,
      logic: bumped,
      planAtStart: false,
    });
    try {
      const since = Date.now() - 1;
      const range = { from: new Date(H), to: new Date(H + HOUR_MS) };
      await batch.reprocess(range.from, range.to, [x]);
      await batch.reprocess(range.from, range.to, [y]);
      // runsSince counts committed hours: batch_runs has a row per run.
      const runs = async () => {
        const [row] = await (
          await ch.query({
            query: `SELECT count() AS n FROM batch_runs WHERE hour = {h:DateTime('UTC')} AND status = 'committed'
                      AND finished_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')`,
            query_params: { h: hourParam, since },
            format: 'JSONEachRow',
          })
        ).json<{ n: number }>();
        return Number(row?.n);
      };
      await until(async () => (await runs()) === 2, 'both reprocesses committed');
      for (const site of [x, y])
        assert.equal(
          (await committed(site))?.logic_version,
          bumped.version,
          `site ${site === x ? 'x' : 'y'}`,
        );
    } finally {
      await batch.close();
    }
  });
});
