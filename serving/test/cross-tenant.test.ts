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

  before(async () => {
    h = await servingHarness('serving-tenants');
    siteA = await h.createSite('a.tenants.example');
    siteB = await h.createSite('b.tenants.example');
    keyA = (await h.createKey({ sites: [siteA] })).key;
    const doc = (await h.app.inject('/docs/json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({
        method: method.toUpperCase(),
        path,
        url: path.replaceAll('{site}', siteB).replace(/\{[^}]+\}/g, 'x'),
      })),
    );
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

  it('lists the read routes in the OpenAPI document', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of ['GET /v1/sites/{site}/timeseries', 'POST /v1/admin/keys', 'POST /v1/sql'])
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
  });

  it("answers 403 or 404 to a key for site A asking for site B's data", async () => {
    const refused: string[] = [];
    for (const op of operations) {
      const names = op.path.includes('{site}') || op.method === 'POST';
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
