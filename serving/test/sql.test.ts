import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeStoredEvent } from '@sightline/core/testing';
import { type ServingHarness, servingHarness } from './harness.js';

describe('POST /v1/sql: read-only SQL over the analyst views, restricted to the key’s sites', () => {
  let h: ServingHarness;
  let siteA: string;
  let siteB: string;
  let keyA: string;
  const sql = (query: string, key = keyA, extra: Record<string, unknown> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/sql',
      headers: { authorization: `Bearer ${key}` },
      payload: { query, ...extra },
    });

  before(async () => {
    h = await servingHarness('serving-sql', { SQL_MAX_RESULT_ROWS: '1000', SQL_MAX_EXECUTION_SECONDS: '2' });
    siteA = await h.createSite('a.sql.example');
    siteB = await h.createSite('b.sql.example');
    keyA = (await h.createKey({ sites: [siteA] })).key;
    const at = Date.UTC(2026, 10, 20, 10, 15);
    const rows = [
      ...[1, 2, 3].map((v) => makeStoredEvent({ site_id: siteA, visitor_id: String(v), at })),
      ...[1, 2].map((v) => makeStoredEvent({ site_id: siteB, visitor_id: String(v), at })),
    ].map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: i, kafka_ts: e.received_at }));
    await h.pool.client.insert({ table: 'events_raw', values: rows, format: 'JSONEachRow' });
  });
  after(() => h?.close());

  it("answers the key's own rows only, from every view", async () => {
    const events = await sql('SELECT site_id, count() AS n FROM events GROUP BY site_id');
    assert.equal(events.statusCode, 200, events.body);
    assert.deepEqual(events.json<{ data: unknown[] }>().data, [{ site_id: siteA, n: 3 }]);
    const hourly = await sql('SELECT site_id, sum(pageviews) AS pv FROM hourly GROUP BY site_id');
    assert.equal(hourly.statusCode, 200, hourly.body);
    assert.deepEqual(hourly.json<{ data: unknown[] }>().data, [{ site_id: siteA, pv: 3 }]);
    const dimensions = await sql('SELECT DISTINCT site_id FROM dimensions');
    assert.equal(dimensions.statusCode, 200, dimensions.body);
    assert.deepEqual(dimensions.json<{ data: unknown[] }>().data, [{ site_id: siteA }]);
    const sites = await sql('SELECT domain FROM sites');
    assert.deepEqual(sites.json<{ data: unknown[] }>().data, [{ domain: 'a.sql.example' }]);
    // A user's own CTEs and subqueries still see only the restricted views.
    const nested = await sql(
      'WITH x AS (SELECT * FROM events WHERE 1) SELECT count() AS n FROM (SELECT * FROM x) WHERE site_id IN (SELECT site_id FROM events)',
    );
    assert.deepEqual(nested.json<{ data: unknown[] }>().data, [{ n: 3 }]);
  });

  it('lets the admin token read every site, and site_id narrow to one', async () => {
    const all = await sql('SELECT count() AS n FROM events', h.adminToken);
    assert.deepEqual(all.json<{ data: unknown[] }>().data, [{ n: 5 }]);
    const one = await sql('SELECT count() AS n FROM events', h.adminToken, { site_id: siteB });
    assert.deepEqual(one.json<{ data: unknown[] }>().data, [{ n: 2 }]);
    assert.equal((await sql('SELECT 1', keyA, { site_id: siteB })).statusCode, 403);
  });

  it('refuses every way around the restriction with a 400', async () => {
    const attempts = [
      'SELECT * FROM events_raw',
      'SELECT * FROM default.events_raw',
      'SELECT count() FROM hourly_merged',
      'SELECT * FROM analyst.events',
      'SELECT name FROM system.tables',
      'SELECT * FROM information_schema.tables',
      "SELECT * FROM file('/etc/passwd', 'LineAsString')",
      "SELECT file('/etc/hostname')",
      "SELECT * FROM url('http://127.0.0.1:1/', 'CSV', 'a String')",
      "SELECT * FROM merge('default', '.*')",
      "SELECT * FROM remote('127.0.0.1', 'default', 'events_raw')",
      'SELECT * FROM numbers(10)',
      "SELECT dictGet('d', 'x', 1)",
      "SELECT joinGet('default.sites', 'domain', 'x')",
      'SELECT count() FROM events WHERE site_id IN (SELECT site_id FROM default.sites)',
      'SELECT 1; SELECT * FROM events_raw',
      'SELECT 1) UNION ALL (SELECT count() FROM events_raw',
      'SELECT 1 SETTINGS readonly = 0',
      'SELECT 1 SETTINGS max_result_rows = 100000000',
      "SELECT getSetting('readonly') FROM (SELECT 1 SETTINGS readonly = 0)",
      'INSERT INTO sites (site_id) VALUES (1)',
      'DROP TABLE events_raw',
      "SELECT * FROM events INTO OUTFILE '/tmp/x'",
      "SELECT 'x' FORMAT TSV",
      'SELECT nonsense FROM nowhere',
      'SELECT 1)) UNION ALL (SELECT CAST((SELECT any(url) FROM default.events_raw) AS UInt8)',
      'SELECT CAST((SELECT any(site_id) FROM events_raw) AS UInt8)',
      'SELECT CAST((SELECT any(site_id) FROM system.numbers) AS UInt8)',
    ];
    for (const attempt of attempts) {
      const response = await sql(attempt);
      assert.equal(response.statusCode, 400, `${attempt}: ${response.statusCode} ${response.body}`);
      assert.ok(!response.body.includes(siteB), `${attempt}: tells about site B`);
    }
    const still = await h.pool.client.query({
      query: 'SELECT count() AS n FROM sites',
      format: 'JSONEachRow',
    });
    assert.equal(Number((await still.json<{ n: string }>())[0]!.n), 2);
  });

  it('limits rows and time', async () => {
    const rows = await sql('SELECT number FROM (SELECT arrayJoin(range(5000)) AS number)');
    assert.equal(rows.statusCode, 400);
    assert.equal(rows.json<{ error: { code: string } }>().error.code, 'too_many_rows');
    const slow = await sql(
      'SELECT count() FROM (SELECT arrayJoin(range(300000)) AS a) AS x CROSS JOIN (SELECT arrayJoin(range(300000)) AS b) AS y WHERE (a * b) % 7 = 3',
    );
    assert.equal(slow.statusCode, 400, slow.body);
    assert.equal(slow.json<{ error: { code: string } }>().error.code, 'sql_timeout');
  });

  it('needs a key', async () => {
    const response = await h.app.inject({ method: 'POST', url: '/v1/sql', payload: { query: 'SELECT 1' } });
    assert.equal(response.statusCode, 401);
  });
});
