import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResponseCache, readBatchVersion } from '../src/cache.js';
import { type ServingHarness, servingHarness } from './harness.js';

describe('ResponseCache: authoritative answers keyed by the query and the batch version', () => {
  let h: ServingHarness;
  before(async () => {
    h = await servingHarness('serving-cache');
  });
  after(() => h?.close());

  it('computes once per query and version, again after a commit', async () => {
    const cache = new ResponseCache(h.redis, {
      prefix: `sightline:test-cache:${process.pid}:${Date.now()}`,
      ttlSeconds: 60,
    });
    let computed = 0;
    const compute = async () => ({ n: ++computed });
    const v1 = await readBatchVersion(h.pool.client);
    assert.deepEqual(v1, { watermark: 0, lastCommit: '1970-01-01 00:00:00.000' });
    assert.deepEqual(await cache.cached('q1', v1, compute), { n: 1 });
    assert.deepEqual(await cache.cached('q1', v1, compute), { n: 1 });
    assert.deepEqual(await cache.cached('q2', v1, compute), { n: 2 });
    await h.pool.client.insert({
      table: 'batch_commits',
      values: [
        {
          hour: '2026-11-20 10:00:00',
          run_id: crypto.randomUUID(),
          logic_version: 1,
          committed_at: '2026-11-26 12:00:00.000',
        },
      ],
      format: 'JSONEachRow',
    });
    const v2 = await readBatchVersion(h.pool.client);
    assert.notDeepEqual(v2, v1);
    assert.deepEqual(await cache.cached('q1', v2, compute), { n: 3 });
  });
});
