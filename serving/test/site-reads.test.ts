import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse } from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import { QueryError } from '../src/query/errors.js';
import { SiteReads, type SiteRow } from '../src/query/site-reads.js';

const SITES = Array.from({ length: 12 }, (_, i) => `s${i}`);
const QUERY = `SELECT site_id, sum(v) AS total, count() AS rows FROM numbers_by_site
  WHERE site_id IN {sites:Array(String)} AND v >= {min:UInt32} GROUP BY site_id`;

describe('SiteReads: one query for the reads that wait together', () => {
  let ch: ClickHouseClient;
  let second: ClickHouseClient;
  let cleanup: () => Promise<void>;

  /** SELECT queries this process's ClickHouse has run so far (chDB runs in the test's process). */
  const selects = async () => {
    const rows = await (
      await ch.query({
        query: "SELECT value FROM system.events WHERE event = 'SelectQuery'",
        format: 'JSONEachRow',
      })
    ).json<{ value: string }>();
    return Number(rows[0]?.value ?? 0);
  };

  before(async () => {
    const stack = await testStack('site-reads');
    cleanup = stack.cleanup;
    ch = createClickHouse(stack.config);
    second = createClickHouse(stack.config);
    await ch.command({
      query: 'CREATE TABLE numbers_by_site (site_id String, v UInt32) ENGINE = MergeTree ORDER BY site_id',
    });
    // Site i has the values 1..i+1.
    await ch.insert({
      table: 'numbers_by_site',
      values: SITES.flatMap((site, i) =>
        Array.from({ length: i + 1 }, (_, v) => ({ site_id: site, v: v + 1 })),
      ),
      format: 'JSONEachRow',
    });
  });

  after(async () => {
    await ch.close();
    await second.close();
    await cleanup();
  });

  const expected = (i: number, min: number) => {
    const values = Array.from({ length: i + 1 }, (_, v) => v + 1).filter((v) => v >= min);
    return values.length === 0
      ? []
      : [{ site_id: SITES[i], total: values.reduce((a, b) => a + b), rows: values.length }];
  };
  /** 64-bit counts arrive as strings over HTTP and as numbers from chDB. */
  const numbers = (answers: SiteRow[][]) =>
    answers.map((rows) =>
      rows.map((r) => ({ site_id: r.site_id, total: Number(r.total), rows: Number(r.rows) })),
    );

  it('answers each site with its own rows, the reads that waited in one query', async () => {
    const reads = new SiteReads([ch], 10);
    const before = await selects();
    // All at once on one connection: the first runs alone, the other eleven wait and run together.
    const answers = await Promise.all(SITES.map((site) => reads.read(QUERY, { min: 1 }, site)));
    const queries = (await selects()) - before;
    assert.deepEqual(
      numbers(answers),
      SITES.map((_, i) => expected(i, 1)),
    );
    // The count query itself is one more SELECT, run after the reads.
    assert.equal(queries, 2 + 1);
  });

  it('runs reads with different parameters apart, and a site asked twice once', async () => {
    const reads = new SiteReads([ch], 10);
    const before = await selects();
    const [first, ...rest] = await Promise.all([
      reads.read(QUERY, { min: 1 }, 's0'),
      reads.read(QUERY, { min: 3 }, 's5'),
      reads.read(QUERY, { min: 3 }, 's5'),
      reads.read(QUERY, { min: 3 }, 's9'),
      reads.read(QUERY, { min: 20 }, 's9'),
      reads.read(QUERY, { min: 3 }, 's1'),
    ]);
    assert.deepEqual(numbers([first!]), [expected(0, 1)]);
    assert.deepEqual(numbers(rest), [expected(5, 3), expected(5, 3), expected(9, 3), [], expected(1, 3)]);
    // s0 alone; then min=3 for s5, s9 and s1 together; then min=20 for s9.
    assert.equal((await selects()) - before, 3 + 1);
  });

  it('keeps at most one query per connection running', async () => {
    const reads = new SiteReads([ch, second], 10);
    const slow = `SELECT site_id, sleepEachRow(0.05) + count() AS n FROM numbers_by_site
      WHERE site_id IN {sites:Array(String)} AND v = 1 GROUP BY site_id`;
    const started = performance.now();
    const answers = await Promise.all(SITES.slice(0, 6).map((site) => reads.read(slow, {}, site)));
    // Two alone at once (one row each, 50 ms), then the other four together (4 rows: 200 ms);
    // six queries at once on the two connections would take 150 ms.
    const elapsed = performance.now() - started;
    assert.deepEqual(
      answers.map((rows) => rows.map((r) => r.site_id)),
      SITES.slice(0, 6).map((site) => [site]),
    );
    assert.ok(
      elapsed >= 240,
      `took ${elapsed.toFixed(0)} ms: the waiting reads ran before a connection was free`,
    );
  });

  it('serves a large gathering in turns with the others', async () => {
    const reads = new SiteReads([ch], 10);
    const order: string[] = [];
    const track = (name: string, rows: Promise<unknown>) => rows.then(() => order.push(name));
    const first = track('a0', reads.read(QUERY, { min: 1 }, 's0'));
    // 250 sites of one shape wait, then one read of another: at most 200 sites go in one query, and
    // the other 50 wait behind the other shape.
    const many = Array.from({ length: 250 }, (_, i) =>
      track(`a${i + 1}`, reads.read(QUERY, { min: 1 }, `x${i}`)),
    );
    const other = track('b', reads.read(QUERY, { min: 2 }, 's3'));
    await Promise.all([first, ...many, other]);
    assert.ok(
      order.indexOf('b') < order.indexOf('a250'),
      `b came after the whole gathering: ${order.indexOf('b')}`,
    );
    assert.ok(order.indexOf('b') > order.indexOf('a200'), 'the first 200 went first');
  });

  it('gives every read of a failed query its error', async () => {
    const reads = new SiteReads([ch], 10);
    const bad = `SELECT site_id, count() AS n FROM numbers_by_site
      WHERE site_id IN {sites:Array(String)} AND match(site_id, {re:String}) GROUP BY site_id`;
    const results = await Promise.allSettled([
      reads.read(QUERY, { min: 1 }, 's0'),
      reads.read(bad, { re: '(' }, 's1'),
      reads.read(bad, { re: '(' }, 's2'),
    ]);
    assert.equal(results[0]!.status, 'fulfilled');
    for (const r of results.slice(1)) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof QueryError);
      assert.equal(((r as PromiseRejectedResult).reason as QueryError).status, 400);
    }
  });
});
