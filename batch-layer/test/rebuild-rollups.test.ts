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
import { copyDdl, rollupStorage, rollupTables, tablesToRebuild } from '../src/rebuild-rollups.js';
import { recomputeHour } from '../src/recompute-hour.js';
import { floorHour, HOUR_MS } from '../src/watermark.js';

const logger = createLogger({ LOG_LEVEL: 'fatal' });

describe('copyDdl', () => {
  it("renames the table and sets the rollups' storage, keeping its other settings", () => {
    const ddl = copyDdl(
      'CREATE TABLE default.batch_hourly (`site_id` String, `hour` DateTime) ENGINE = MergeTree ORDER BY (site_id, hour) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1',
      'batch_hourly_rebuild',
    );
    assert.equal(
      ddl,
      'CREATE TABLE batch_hourly_rebuild (`site_id` String, `hour` DateTime) ENGINE = MergeTree ORDER BY (site_id, hour) SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1, min_compress_block_size = 4096',
    );
  });
});

/** Two closed hours with data, each committed; the first twice, so a superseded run has rows too. */
const H = floorHour(Date.now()) - 3 * HOUR_MS;

describe('the rollup rebuild', () => {
  let ch: ClickHouseClient;
  let redis: Redis;
  let config: Config;
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('rollup-rebuild');
    cleanup = stack.cleanup;
    config = stack.config;
    ch = createClickHouse(config);
    redis = createRedis(config, { forBullMQ: true });
    await migrate(ch, streamlessMigration);
    const sites = await Promise.all(
      ['a.example', 'b.example', 'c.example'].map(
        async (domain) => (await createSite(ch, { domain, timezone: 'UTC', allowed_hostnames: [] })).site_id,
      ),
    );
    const events = sites.flatMap((site, s) =>
      [0, 1].flatMap((h) =>
        Array.from({ length: 20 + s }, (_, i) =>
          makeStoredEvent({
            site_id: site,
            visitor_id: String(i % 7),
            pathname: `/p${i % 5}`,
            at: H + h * HOUR_MS + i * 60_000,
          }),
        ),
      ),
    );
    await ch.insert({
      table: 'events_raw',
      values: events.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: i, kafka_ts: e.received_at })),
      format: 'JSONEachRow',
    });
    for (const hour of [H, H, H + HOUR_MS]) await recomputeHour(ch, new Date(hour), { reason: 'test' });
  });
  after(async () => {
    await ch?.close();
    redis?.disconnect();
    await cleanup?.();
  });

  /** Every row of both rollups, runs superseded or not, sketches finalized, in one order. */
  async function rows(): Promise<string> {
    const tables = await Promise.all(
      rollupTables.map(async (table) =>
        (
          await ch.query({
            query: `SELECT * REPLACE (finalizeAggregation(visitors_state) AS visitors_state) FROM ${table}
                    ORDER BY ALL`,
            format: 'JSONEachRow',
          })
        ).text(),
      ),
    );
    return tables.join('');
  }

  async function granularity(): Promise<Record<string, string>> {
    const found = await (
      await ch.query({
        query: `SELECT name, extract(engine_full, 'index_granularity = (\\\\d+)') AS g FROM system.tables
                WHERE database = currentDatabase() AND name IN {tables:Array(String)} ORDER BY name`,
        query_params: { tables: [...rollupTables] },
        format: 'JSONEachRow',
      })
    ).json<{ name: string; g: string }>();
    return Object.fromEntries(found.map((t) => [t.name, t.g]));
  }

  it('waits for the runs under way, pauses new ones, then swaps in a copy with every row', async () => {
    const before = await rows();
    assert.ok(before.split('\n').length > 30, 'rows to copy');
    assert.deepEqual(await granularity(), { batch_dimensions_hourly: '8192', batch_hourly: '8192' });
    assert.equal((await tablesToRebuild(ch)).length, 2);

    // A run of another worker is under way: its hour's lock is held.
    const runLock = `sightline:batch-hour-lock:${config.BATCH_QUEUE}:elsewhere`;
    await redis.set(runLock, 'other-worker', 'PX', 60_000);
    const batch = await BatchLayer.start({ config, ch, redis, logger, planAtStart: false });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await redis.exists(`sightline:batch-pause:${config.BATCH_QUEUE}`), 1, 'runs paused');
      assert.deepEqual(
        await granularity(),
        { batch_dimensions_hourly: '8192', batch_hourly: '8192' },
        'nothing swapped while a run is under way',
      );
      await redis.del(runLock);
      await batch.rollupsRebuilt();
      assert.deepEqual(await granularity(), {
        batch_dimensions_hourly: String(rollupStorage.index_granularity),
        batch_hourly: String(rollupStorage.index_granularity),
      });
      assert.equal(await rows(), before, 'the same rows, committed or superseded');
      assert.equal(await redis.exists(`sightline:batch-pause:${config.BATCH_QUEUE}`), 0, 'runs resume');
      const leftovers = await (
        await ch.query({
          query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%_rebuild'`,
          format: 'JSONEachRow',
        })
      ).json();
      assert.deepEqual(leftovers, []);
      assert.deepEqual(await tablesToRebuild(ch), [], 'a second start has nothing to rebuild');

      // While another instance holds the pause, this one's runs wait, then go on once it is lifted.
      await redis.set(`sightline:batch-pause:${config.BATCH_QUEUE}`, 'other-instance', 'PX', 60_000);
      const since = Date.now() - 1;
      const range = { from: new Date(H), to: new Date(H + HOUR_MS) };
      await batch.reprocess(range.from, range.to);
      await new Promise((r) => setTimeout(r, 3000));
      const started = await (
        await ch.query({
          query: `SELECT count() AS n FROM batch_runs
                  WHERE finished_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')`,
          query_params: { since },
          format: 'JSONEachRow',
        })
      ).json<{ n: string }>();
      assert.equal(Number(started[0]?.n), 0, 'no run started during the pause');
      await redis.del(`sightline:batch-pause:${config.BATCH_QUEUE}`);
      const deadline = Date.now() + 30_000;
      while ((await batch.runsSince(since, range)).committed < 1) {
        assert.ok(Date.now() < deadline, 'the reprocess committed after the pause');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await batch.close();
    }
  });
});
