import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResponseCache, readBatchVersion } from '../src/cache.js';
import { type ServingHarness, servingHarness } from './harness.js';
import { BLOCK_START, commitBlock, HOUR, insertBatchHour, WATERMARK } from './query-fixtures.js';

describe('the response cache: authoritative answers keyed by the query and the batch version', () => {
  let h: ServingHarness;
  let site: string;
  let auth: { authorization: string };
  before(async () => {
    h = await servingHarness('serving-cache');
    site = await h.createSite('cache.example');
    auth = { authorization: `Bearer ${(await h.createKey({ sites: [site], scope: 'read' })).key}` };
  });
  after(() => h?.close());

  const recommit = (hour: string, committedAt: string) =>
    h.pool.client.insert({
      table: 'batch_commits',
      values: [{ hour, run_id: crypto.randomUUID(), logic_version: 1, committed_at: committedAt }],
      format: 'JSONEachRow',
    });

  it('stores per query and version; a commit makes older entries unreachable', async () => {
    const cache = new ResponseCache(h.redis, {
      prefix: `sightline:test-cache:${process.pid}:${Date.now()}`,
      ttlSeconds: 60,
    });
    const v1 = await readBatchVersion({ ch: h.pool.client, timeoutSeconds: 10 });
    assert.deepEqual(v1, { watermark: 0, lastCommit: '1970-01-01 00:00:00.000' });
    assert.equal(await cache.get('q1', v1), null);
    await cache.put('q1', v1, '{"n":1}');
    assert.equal(await cache.get('q1', v1), '{"n":1}');
    assert.equal(await cache.get('q2', v1), null);
    await recommit('2026-11-20 10:00:00', '2026-11-26 12:00:00.000'); // above the watermark to come: no gap below it
    const v2 = await readBatchVersion({ ch: h.pool.client, timeoutSeconds: 10 });
    assert.notDeepEqual(v2, v1);
    assert.equal(await cache.get('q1', v2), null);
  });

  it('serves a fully authoritative timeseries from the cache until the next commit, and never a live one', async () => {
    await insertBatchHour(h.pool.client, site, new Date(BLOCK_START).toISOString(), {
      pageviews: 7,
      visitors: [1, 2],
    });
    await commitBlock(h.pool.client);
    const ask = (from: number, to: number) =>
      h.app.inject({
        method: 'GET',
        url: `/v1/sites/${site}/timeseries?metrics=pageviews&interval=hour&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
        headers: auth,
      });
    const settle = () => new Promise((r) => setTimeout(r, 1100)); // the batch version is read once a second
    await settle();

    const first = await ask(BLOCK_START, BLOCK_START + 3 * HOUR);
    const second = await ask(BLOCK_START, BLOCK_START + 3 * HOUR);
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['x-cache'], undefined);
    assert.equal(second.headers['x-cache'], 'hit');
    assert.equal(second.body, first.body);
    assert.equal(first.json<{ results: { pageviews: number }[] }>().results[0]!.pageviews, 7);

    // A range reaching past the watermark is live: computed every time.
    const live = [
      await ask(WATERMARK - HOUR, WATERMARK + HOUR),
      await ask(WATERMARK - HOUR, WATERMARK + HOUR),
    ];
    assert.deepEqual(
      live.map((r) => [r.statusCode, r.headers['x-cache']]),
      [
        [200, undefined],
        [200, undefined],
      ],
    );

    // A re-commit of an hour below the watermark (a reprocess) changes the version: a miss again.
    await recommit(
      new Date(BLOCK_START).toISOString().slice(0, 19).replace('T', ' '),
      '2030-01-01 00:00:00.000',
    );
    await settle();
    const after = await ask(BLOCK_START, BLOCK_START + 3 * HOUR);
    assert.equal(after.statusCode, 200);
    assert.equal(after.headers['x-cache'], undefined);
  });
});
