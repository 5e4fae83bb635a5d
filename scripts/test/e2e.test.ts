import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import { createSightlineClient } from '@sightline/sdk';
import { type Embedded, startEmbedded } from '../src/embedded.js';

describe('the thin slice, end to end on the real stack', () => {
  let service: Embedded;
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('e2e');
    cleanup = stack.cleanup;
    service = await startEmbedded(stack.config, createLogger(stack.config));
  });
  after(async () => {
    await service?.close();
    await cleanup?.();
  });

  async function createSite(domain: string): Promise<string> {
    const response = await fetch(`${service.url}/v1/admin/sites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminToken}` },
      body: JSON.stringify({ domain, timezone: 'Europe/Berlin' }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { site_id: string }).site_id;
  }

  it('POST /v1/events, then the hourly timeseries counts it within 10 seconds', async () => {
    const siteId = await createSite(`shop-${randomUUID().slice(0, 8)}.example`);
    const now = Date.now();
    const hour = Math.floor(now / 3600_000) * 3600_000;
    const eventId = randomUUID();

    const posted = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
      },
      body: JSON.stringify({
        site_id: siteId,
        name: 'pageview',
        url: 'https://shop.example/pricing/',
        event_id: eventId,
      }),
    });
    assert.equal(posted.status, 202);
    assert.deepEqual(await posted.json(), { accepted: 1, event_ids: [eventId] });

    const query = new URLSearchParams({
      metrics: 'pageviews,visitors',
      interval: 'hour',
      from: new Date(hour - 3600_000).toISOString(),
      to: new Date(hour + 3600_000).toISOString(),
    });
    const made = await fetch(`${service.url}/v1/admin/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminToken}` },
      body: JSON.stringify({ sites: [siteId], scope: 'read' }),
    });
    assert.equal(made.status, 201);
    const { key } = (await made.json()) as { key: string };
    const timeseries = `${service.url}/v1/sites/${siteId}/timeseries?${query}`;
    assert.equal((await fetch(timeseries)).status, 401, 'no key, no numbers');
    const deadline = Date.now() + 10_000;
    let body: { results: { time: string; pageviews: number; visitors: number }[] } | undefined;
    while (Date.now() < deadline) {
      const response = await fetch(timeseries, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.status, 200);
      body = (await response.json()) as typeof body;
      if (body?.results.some((r) => r.pageviews > 0)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(body, 'the timeseries answered');
    // Bucket times are in the site's zone (Europe/Berlin): compare the instants.
    assert.deepEqual(
      body.results.map((r) => ({ ...r, time: Date.parse(r.time) })),
      [
        { time: hour - 3600_000, pageviews: 0, visitors: 0 },
        { time: hour, pageviews: 1, visitors: 1 },
      ],
    );
  });

  it('answers a bad event with a 400 naming the field, and stores nothing', async () => {
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site_id: 'a-site', name: 'pageview', url: 'not a url' }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; details: unknown } };
    assert.equal(body.error.code, 'invalid_event');
    assert.deepEqual(body.error.details, [{ path: 'url', message: 'must be an absolute http(s) URL' }]);
  });

  it('the Node client sends an event and reports a rejection without retrying it', async () => {
    const siteId = await createSite('app.example');
    const client = createSightlineClient({ endpoint: service.url });
    const sent = await client.track({
      site_id: siteId,
      name: 'signup',
      url: 'https://app.example/welcome',
    });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const rejected = await client.track({ site_id: siteId, name: '', url: 'https://app.example/' });
    assert.equal(rejected.ok, false);
    assert.equal(!rejected.ok && rejected.status, 400);
    assert.equal(!rejected.ok && rejected.error.code, 'invalid_event');
  });

  it('answers malformed JSON with a 400 invalid_json', async () => {
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"site_id": ',
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_json');
  });

  it('describes the ingest and serving routes at /docs', async () => {
    const page = await fetch(`${service.url}/docs`);
    assert.equal(page.status, 200);
    const doc = (await (await fetch(`${service.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; summary?: string }>>;
    };
    for (const [path, method] of [
      ['/v1/events', 'post'],
      ['/api/event', 'post'],
      ['/v1/pixel.gif', 'get'],
      ['/t.js', 'get'],
      ['/v1/sites/{site}/timeseries', 'get'],
      ['/v1/admin/keys', 'post'],
      ['/v1/sql', 'post'],
    ] as const) {
      assert.ok(doc.paths[path]?.[method]?.summary, `${method} ${path} is described`);
    }
    assert.ok(doc.paths['/v1/events']?.post?.requestBody, 'the event body is described');
  });

  it('is ready once ClickHouse answers and ingest can store events', async () => {
    const response = await fetch(`${service.url}/ready`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      ready: true,
      checks: { clickhouse: 'ok', ingest: 'ok', redis: 'ok' },
    });
  });
});
