import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { createSite, logger, waitForEvents } from './support/service.js';

function runReplay(
  service: Embedded,
  from: string,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      path.resolve(import.meta.dirname, '../src/replay.ts'),
      '--from',
      from,
      '--url',
      service.url,
      '--token',
      service.adminToken,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ status: code ?? -1, ...out })));
}

describe('replaying the topic into events_raw', () => {
  let service: Embedded;
  let cleanup: () => Promise<void>;
  const ids = Array.from({ length: 20 }, () => randomUUID());

  before(async () => {
    const stack = await testStack('replay-e2e');
    cleanup = stack.cleanup;
    service = await startEmbedded(stack.config, logger);
    const siteId = await createSite(service, 'replay-e2e.example');
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: ids.map((event_id) => ({
          site_id: siteId,
          name: 'pageview',
          url: 'https://replay-e2e.example/',
          event_id,
        })),
      }),
    });
    assert.equal(response.status, 202);
    assert.equal(await waitForEvents(service, ids, 30_000), ids.length);
  });
  after(async () => {
    await service?.close();
    await cleanup?.();
  });

  it('skips what is already there, and restores rows that went missing, once', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const first = await runReplay(service, from);
    assert.equal(first.status, 0, first.stderr);
    // The request's 20 events of one site travel as one Kafka message (ingest's toMessages).
    assert.match(first.stdout, /Done: 1 messages, 0 inserted, 20 already there, 0 dead letters/);

    // A stream misconfigured for a while: five events never made it into events_raw.
    await service.clickhouse.client.command({
      query: 'DELETE FROM events_raw WHERE event_id IN {ids:Array(UUID)}',
      query_params: { ids: ids.slice(0, 5) },
    });
    const second = await runReplay(service, from);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /Done: 1 messages, 5 inserted, 15 already there/);
    const result = await service.clickhouse.client.query({
      query: 'SELECT count() AS n, uniqExact(event_id) AS u FROM events_raw',
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number; u: number }>();
    assert.deepEqual([Number(row!.n), Number(row!.u)], [20, 20]);
  });
});
