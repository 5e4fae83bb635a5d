import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOGIC_VERSION } from '@sightline/batch-layer';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { createSite, logger } from './support/service.js';

const HOUR = 3600_000;

interface AdminAnswer {
  name?: string;
  event_name?: string | null;
  page_path?: string | null;
  goals?: { name: string }[];
  error?: { code: string; details: { path: string }[] };
}

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
    const response = await fetch(`${service.url}/v1/sites/${siteId}/timeseries?${query}`, {
      headers: { authorization: `Bearer ${service.adminToken}` },
    });
    assert.equal(response.status, 200);
    return (await response.json()) as {
      authoritative_until: string | null;
      results: { time: string; pageviews: number }[];
    };
  }

  /** Runs `npm run reprocess` against the service, asynchronously: the service runs in this very process. */
  async function reprocess(...args: string[]) {
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        path.resolve(import.meta.dirname, '../src/reprocess.ts'),
        ...args,
        '--url',
        service.url,
        '--token',
        service.adminToken,
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
    return cli;
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

    const cli = await reprocess(
      '--from',
      new Date(past).toISOString(),
      '--to',
      new Date(past + HOUR).toISOString(),
    );
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
    // Taken before the request: the previous test's run may have committed within the last second.
    const since = Date.now();
    const response = await fetch(`${service.url}/v1/admin/reprocess`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: new Date(past).toISOString(), to: new Date(past + HOUR).toISOString() }),
    });
    assert.equal(response.status, 202);
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
    assert.ok(
      status.last_runs.length >= 2 && status.last_runs.every((r) => r.status === 'committed'),
      JSON.stringify(status.last_runs),
    );
  });

  async function admin(method: string, route: string, body?: unknown, token = service.adminToken) {
    const response = await fetch(`${service.url}${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => ({}))) as AdminAnswer,
    };
  }

  it('goals: POST and GET /v1/admin/sites/:site/goals, admin only, every bad input a 4xx naming it', async () => {
    const route = `/v1/admin/sites/${siteId}/goals`;
    assert.equal((await admin('POST', route, { event_name: 'signup' }, '')).status, 401);
    const signup = await admin('POST', route, { event_name: 'signup' });
    assert.equal(signup.status, 201);
    assert.deepEqual(
      { name: signup.body.name, event_name: signup.body.event_name, page_path: signup.body.page_path },
      { name: 'signup', event_name: 'signup', page_path: null },
    );
    const checkout = await admin('POST', route, { page_path: '/checkout/*' });
    assert.equal(checkout.status, 201);
    assert.equal(checkout.body.name, 'Visit /checkout/*');

    const both = await admin('POST', route, { event_name: 'a', page_path: '/a' });
    assert.equal(both.status, 400);
    assert.equal(both.body.error?.code, 'invalid_goal');
    assert.equal(both.body.error?.details[0]?.path, 'event_name');
    const relative = await admin('POST', route, { page_path: 'checkout' });
    assert.equal(relative.status, 400);
    assert.equal(relative.body.error?.details[0]?.path, 'page_path');
    assert.equal((await admin('POST', route, { event_name: 'signup' })).status, 409);
    assert.equal((await admin('POST', '/v1/admin/sites/s_nope/goals', { event_name: 'x' })).status, 404);

    const listed = await admin('GET', route);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.goals?.map((g) => g.name),
      ['Visit /checkout/*', 'signup'],
    );
    const extra = await admin('POST', route, { name: 'Extra', event_name: 'extra' });
    assert.equal(extra.status, 201);
    assert.equal((await admin('DELETE', `${route}/Extra`)).status, 204);
    assert.equal((await admin('GET', route)).body.goals?.length, 2);
  });

  it('reprocess --sites applies the goals to past hours of that site only', async () => {
    const other = await createSite(service, 'batch-e2e-other.example');
    assert.equal(
      (await admin('POST', `/v1/admin/sites/${other}/goals`, { event_name: 'signup' })).status,
      201,
    );
    await send({ name: 'signup', timestamp: past + 20 * 60_000, revenue: { amount: 5, currency: 'EUR' } });
    await send({ url: 'https://batch-e2e.example/checkout/pay', timestamp: past + 21 * 60_000 });
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
      },
      body: JSON.stringify({
        site_id: other,
        name: 'signup',
        url: 'https://batch-e2e-other.example/',
        timestamp: past + 20 * 60_000,
      }),
    });
    assert.equal(response.status, 202);
    const stored = async () => {
      const result = await service.clickhouse.client.query({
        query: `SELECT count() AS n FROM events_raw WHERE site_id IN ({a:String}, {b:String}) AND name = 'signup'`,
        query_params: { a: siteId, b: other },
        format: 'JSONEachRow',
      });
      return Number((await result.json<{ n: number }>())[0]!.n);
    };
    await until(async () => (await stored()) === 2, 20_000, stored);

    const bad = await reprocess(
      '--from',
      new Date(past).toISOString(),
      '--to',
      new Date(past + HOUR).toISOString(),
      '--sites',
      's_nope',
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /not registered sites: s_nope/);

    const cli = await reprocess(
      '--from',
      new Date(past).toISOString(),
      '--to',
      new Date(past + HOUR).toISOString(),
      '--sites',
      siteId,
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`Reprocessing 1 hours \\(.*sites ${siteId}\\)`));

    const goals = async (site: string) => {
      const result = await service.clickhouse.client.query({
        query: `SELECT value, events, visitors, toString(revenue) AS revenue FROM batch_dimensions_hourly
                WHERE site_id = {site:String} AND dimension = 'goal'
                  AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
                ORDER BY value`,
        query_params: { site },
        format: 'JSONEachRow',
      });
      return (await result.json<Record<string, string | number>>()).map((r) => [
        r.value,
        Number(r.events),
        Number(r.visitors),
        r.revenue,
      ]);
    };
    assert.deepEqual(await goals(siteId), [
      ['Visit /checkout/*', 1, 1, '0'],
      ['signup', 1, 1, '5'],
    ]);
    assert.deepEqual(await goals(other), [], 'the other site was not reprocessed');
  });
  it('reprocess --rebuild-raw rebuilds events_raw from the raw payloads through the service', async () => {
    const day = Math.floor(now / 86_400_000) * 86_400_000 - 4 * 86_400_000;
    const event = makeStoredEvent({
      site_id: siteId,
      at: day + 3600_000,
      // What an enrichment bug stored; the payload says Firefox on Linux.
      browser: 'WRONG',
      raw: JSON.stringify({
        body: { site_id: siteId, name: 'pageview', url: 'https://batch-e2e.example/old' },
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0',
        country: 'DE',
        accept_language: null,
      }),
    });
    await service.clickhouse.client.insert({
      table: 'events_raw',
      values: [{ ...event, kafka_partition: 0, kafka_offset: 0, kafka_ts: event.received_at }],
      format: 'JSONEachRow',
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    const recent = await reprocess('--rebuild-raw', '--from', iso(now - 86_400_000), '--to', iso(now));
    assert.equal(recent.status, 1);
    assert.match(recent.stderr, /can still receive late events/);

    const cli = await reprocess('--rebuild-raw', '--from', iso(day), '--to', iso(day + 86_400_000));
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /Done: 1 days, 1 events rebuilt .*\(1 changed, 0 without a payload/);
    const [row] = await (
      await service.clickhouse.client.query({
        query: 'SELECT browser, os, pathname FROM events_raw WHERE event_id = {id:UUID}',
        query_params: { id: event.event_id },
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    assert.deepEqual(row, { browser: 'Firefox', os: 'Linux', pathname: '/old' });
  });
});
