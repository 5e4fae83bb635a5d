import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOGIC_VERSION } from '@sightline/batch-layer';
import { testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { createSite, logger } from './support/service.js';

const HOUR = 3600_000;

describe('batch layer and the Lambda merge, end to end', () => {
  let service: Embedded;
  let siteId: string;
  let cleanup: () => Promise<void>;
  const now = Date.now();
  const current = Math.floor(now / HOUR) * HOUR;
  const past = current - 2 * HOUR;

  before(async () => {
    const stack = await testStack('batch-e2e');
    cleanup = stack.cleanup;
    service = await startEmbedded(stack.config, logger);
    siteId = await createSite(service, 'batch-e2e.example');
  });
  after(async () => {
    await service?.close();
    await cleanup?.();
  });

  async function send(body: Record<string, unknown>) {
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
      },
      body: JSON.stringify({ site_id: siteId, name: 'pageview', url: 'https://batch-e2e.example/', ...body }),
    });
    assert.equal(response.status, 202);
  }

  async function timeseries() {
    const query = new URLSearchParams({
      metrics: 'pageviews,visitors',
      from: new Date(past - HOUR).toISOString(),
      to: new Date(current + HOUR).toISOString(),
    });
    const response = await fetch(`${service.url}/v1/sites/${siteId}/timeseries?${query}`);
    assert.equal(response.status, 200);
    return (await response.json()) as {
      authoritative_until: string | null;
      results: { time: string; pageviews: number }[];
    };
  }

  const pageviews = (body: Awaited<ReturnType<typeof timeseries>>) => body.results.map((r) => r.pageviews);

  async function until(check: () => Promise<boolean>, ms: number, what: () => Promise<unknown>) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`not reached within ${ms} ms: ${JSON.stringify(await what())}`);
  }

  it('live numbers count a retried event twice; after the batch commits its hour, it counts once', async () => {
    const retried = randomUUID();
    await send({ event_id: retried, timestamp: past + 10 * 60_000 });
    await send({ event_id: retried, timestamp: past + 10 * 60_000 }); // the client's retry
    await send({ timestamp: past + 11 * 60_000, url: 'https://batch-e2e.example/pricing' });
    await send({}); // now, in the live hour

    await until(async () => pageviews(await timeseries()).join() === '0,3,0,1', 20_000, timeseries);
    const live = await timeseries();
    assert.equal(live.authoritative_until, null, 'nothing is authoritative before the batch commits');

    const token = service.adminToken;
    // Asynchronously: the service answering the command runs in this very process.
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        path.resolve(import.meta.dirname, '../src/reprocess.ts'),
        '--from',
        new Date(past).toISOString(),
        '--to',
        new Date(past + HOUR).toISOString(),
        '--url',
        service.url,
        '--token',
        token,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const cli = { stdout: '', stderr: '', status: -1 };
    child.stdout.on('data', (d) => {
      cli.stdout += d;
    });
    child.stderr.on('data', (d) => {
      cli.stderr += d;
    });
    cli.status = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /Reprocessing 1 hours/);
    assert.match(cli.stdout, /Done: 1 hours recomputed and committed/);

    const merged = await timeseries();
    assert.equal(merged.authoritative_until, new Date(past + HOUR).toISOString());
    assert.deepEqual(
      pageviews(merged),
      [0, 2, 0, 1],
      'batch below the watermark (deduplicated), speed from it on',
    );
  });

  it('reprocessing the same hour again gives the same numbers', async () => {
    const before = await timeseries();
    const response = await fetch(`${service.url}/v1/admin/reprocess`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: new Date(past).toISOString(), to: new Date(past + HOUR).toISOString() }),
    });
    assert.equal(response.status, 202);
    const since = Date.now() - 1000;
    await until(
      async () => {
        const status = (await (
          await fetch(`${service.url}/v1/admin/batch?since=${since}`, {
            headers: { authorization: `Bearer ${service.adminToken}` },
          })
        ).json()) as { runs_since: { committed: number } };
        return status.runs_since.committed >= 1;
      },
      60_000,
      timeseries,
    );
    assert.deepEqual(await timeseries(), before);
  });

  it('shows the watermark, the queue and the last runs on /v1/admin/batch', async () => {
    const response = await fetch(`${service.url}/v1/admin/batch`, {
      headers: { authorization: `Bearer ${service.adminToken}` },
    });
    assert.equal(response.status, 200);
    const status = (await response.json()) as {
      watermark: string;
      logic_version: number;
      last_runs: { status: string }[];
    };
    assert.equal(status.watermark, new Date(past + HOUR).toISOString());
    assert.equal(status.logic_version, LOGIC_VERSION);
    assert.ok(status.last_runs.length >= 2 && status.last_runs.every((r) => r.status === 'committed'));
  });
});
