import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ServingHarness, servingHarness } from './harness.js';

interface Operation {
  method: string;
  path: string;
  url: string;
}

/**
 * Walks every route of the OpenAPI document, so a new route is covered the day it is added: a key
 * for site A asking for site B gets 403 or 404, no key gets 401, whatever else is in the request.
 */
describe('tenant isolation on every serving route', () => {
  let h: ServingHarness;
  let siteA: string;
  let siteB: string;
  let keyA: string;
  let operations: Operation[];
  let documented: string[];

  before(async () => {
    h = await servingHarness('serving-tenants');
    siteA = await h.createSite('a.tenants.example');
    siteB = await h.createSite('b.tenants.example');
    keyA = (await h.createKey({ sites: [siteA] })).key;
    const doc = (await h.app.inject('/docs/json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Every route the app has, hidden from the document or not; HEAD mirrors GET.
    operations = h.routes
      .filter((r) => r.method !== 'HEAD' && !r.public && !r.url.startsWith('/docs'))
      .map((r) => ({
        method: r.method,
        path: r.url,
        url: r.url.replaceAll(':site', siteB).replace(/:[A-Za-z_]+|\*/g, 'x'),
      }));
  });
  after(() => h?.close());

  const send = (op: Operation, key: string | undefined, site: string) =>
    h.app.inject({
      method: op.method as 'GET',
      url: op.url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(op.method === 'POST' || op.method === 'PUT'
        ? { payload: { site_id: site, query: 'SELECT 1', metrics: ['visitors'], date_range: '7d' } }
        : {}),
    });

  it('lists every route in the OpenAPI document, and only the dashboard is public', () => {
    for (const op of operations) {
      const path = op.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      assert.ok(documented.includes(`${op.method} ${path}`), `${op.method} ${path} is in /docs/json`);
    }
    for (const expected of ['GET /v1/sites/{site}/timeseries', 'POST /api/v2/query', 'POST /v1/sql'])
      assert.ok(documented.includes(expected), `${expected} in ${documented.join(', ')}`);
    const open = h.routes.filter((r) => r.public && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(open.sort(), ['GET /', 'GET /assets/:name'].filter((r) => open.includes(r)).sort());
  });

  it("answers 403 or 404 to a key for site A asking for site B's data", async () => {
    const refused: string[] = [];
    for (const op of operations) {
      const names = op.path.includes(':site') || op.method === 'POST';
      if (!names) continue;
      const response = await send(op, keyA, siteB);
      refused.push(`${op.method} ${op.path}`);
      assert.ok(
        [403, 404].includes(response.statusCode),
        `${op.method} ${op.url}: ${response.statusCode} ${response.body}`,
      );
    }
    assert.ok(refused.length >= 3, refused.join(', '));
  });

  it('answers 401 to every route without a key', async () => {
    for (const op of operations) {
      const response = await send(op, undefined, siteA);
      assert.equal(response.statusCode, 401, `${op.method} ${op.url}: ${response.body}`);
    }
  });

  it('lets the key read its own site on the same routes', async () => {
    const own = await h.app.inject({
      url: `/v1/sites/${siteA}/timeseries?from=2026-11-01&to=2026-11-02`,
      headers: { authorization: `Bearer ${keyA}` },
    });
    assert.equal(own.statusCode, 200, own.body);
  });
});
