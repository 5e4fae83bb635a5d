import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ServingHarness, servingHarness } from './harness.js';

const range = 'from=2026-11-01&to=2026-11-02&interval=hour&metrics=pageviews';

describe('API keys and read authentication', () => {
  let h: ServingHarness;
  let siteA: string;
  let siteB: string;
  const admin = () => ({ authorization: `Bearer ${h.adminToken}` });
  const read = (site: string, key?: string) =>
    h.app.inject({
      url: `/v1/sites/${site}/timeseries?${range}`,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });

  before(async () => {
    h = await servingHarness('serving-keys', {
      RATE_LIMIT_KEY_PER_MINUTE: '20',
      API_KEY_CACHE_SECONDS: '60',
    });
    siteA = await h.createSite('a.keys.example');
    siteB = await h.createSite('b.keys.example');
  });
  after(() => h?.close());

  it('makes a key shown once, stored hashed, listed without the secret', async () => {
    const made = await h.createKey({ sites: [siteA], name: 'dashboard' });
    assert.match(made.key, /^sl_[A-Za-z0-9_-]{43}$/);
    const stored = await h.pool.client.query({ query: 'SELECT * FROM api_keys', format: 'JSONEachRow' });
    const rows = await stored.json<Record<string, unknown>>();
    assert.ok(!JSON.stringify(rows).includes(made.key), 'the key itself is not stored');
    const list = await h.app.inject({ url: '/v1/admin/keys', headers: admin() });
    assert.equal(list.statusCode, 200);
    const keys = list.json<{ keys: { key_id: string; sites: string[]; scope: string }[] }>().keys;
    const listed = keys.find((k) => k.key_id === made.key_id);
    assert.deepEqual(listed && { sites: listed.sites, scope: listed.scope }, {
      sites: [siteA],
      scope: 'read',
    });
    assert.ok(!list.body.includes(made.key));
  });

  it('reads its own site, refuses another site with 403 and no key or a wrong key with 401', async () => {
    const { key } = await h.createKey({ sites: [siteA] });
    assert.equal((await read(siteA, key)).statusCode, 200);
    const foreign = await read(siteB, key);
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json<{ error: { code: string } }>().error.code, 'forbidden_site');
    assert.equal((await read(siteA)).statusCode, 401);
    assert.equal((await read(siteA, `sl_${'x'.repeat(43)}`)).statusCode, 401);
    // A foreign site is refused before the query is validated: the answer tells nothing about it.
    const invalid = await h.app.inject({
      url: `/v1/sites/${siteB}/timeseries?from=nonsense`,
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(invalid.statusCode, 403);
  });

  it('honours revocation at once on this instance', async () => {
    const { key, key_id } = await h.createKey({ sites: [siteA] });
    assert.equal((await read(siteA, key)).statusCode, 200);
    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/v1/admin/keys/${key_id}`,
      headers: admin(),
    });
    assert.equal(revoked.statusCode, 200);
    assert.equal((await read(siteA, key)).statusCode, 401);
    const again = await h.app.inject({ method: 'DELETE', url: '/v1/admin/keys/k_unknown', headers: admin() });
    assert.equal(again.statusCode, 404);
  });

  it('refuses expired keys and write keys, lets admin keys and the admin token read every site and admin keys use the admin API', async () => {
    const { key: soon } = await h.createKey({
      sites: [siteA],
      expires_at: new Date(Date.now() + 1500).toISOString(),
    });
    assert.equal((await read(siteA, soon)).statusCode, 200);
    const { key: write } = await h.createKey({ sites: [siteA], scope: 'write' });
    assert.equal((await read(siteA, write)).statusCode, 403);
    const { key: adminKey } = await h.createKey({ scope: 'admin' });
    assert.equal((await read(siteB, adminKey)).statusCode, 200);
    const sites = (key: string) =>
      h.app.inject({ url: '/v1/admin/sites', headers: { authorization: `Bearer ${key}` } });
    assert.equal((await sites(adminKey)).statusCode, 200, 'an admin key uses the admin API');
    assert.equal((await sites(soon)).statusCode, 403, 'a read key does not');
    assert.equal((await read(siteB, h.adminToken)).statusCode, 200);
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await read(siteA, soon)).statusCode, 401);
  });

  it('rejects bad key requests with a 400 naming the field, and keys for unknown sites', async () => {
    const post = (payload: unknown) =>
      h.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin(), payload: payload as object });
    const cases: [unknown, string][] = [
      [{ sites: [] }, 'sites'],
      [{ sites: [siteA], scope: 'owner' }, 'scope'],
      [{ sites: ["a' OR 1=1"] }, 'sites.0'],
      [{ sites: [siteA], expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
      [{ sites: [siteA], extra: 1 }, '(body)'],
      [{ scope: 'admin', sites: [siteA] }, 'sites'],
    ];
    for (const [payload, path] of cases) {
      const response = await post(payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      const body = response.json<{ error: { code: string; details: { path: string }[] } }>();
      assert.equal(body.error.code, 'invalid_key_request');
      assert.ok(
        body.error.details.some((d) => d.path === path),
        `${JSON.stringify(payload)}: ${response.body}`,
      );
    }
    const unknown = await post({ sites: ['s_nope'] });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'unknown_site');
    const noAdmin = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      payload: { sites: [siteA] },
    });
    assert.equal(noAdmin.statusCode, 401);
  });

  it('limits requests per key: 429 with Retry-After', async () => {
    const { key } = await h.createKey({ sites: [siteA] });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 22; i++) {
      const response = await read(siteA, key);
      statuses.push(response.statusCode);
      if (response.statusCode === 429) retryAfter = String(response.headers['retry-after']);
    }
    assert.equal(statuses.filter((s) => s === 200).length, 20);
    assert.equal(statuses.at(-1), 429);
    assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
    // Another key is counted apart.
    const { key: other } = await h.createKey({ sites: [siteA] });
    assert.equal((await read(siteA, other)).statusCode, 200);
  });
});
