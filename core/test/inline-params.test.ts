import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type ClickHouseClient, createClickHouse } from '../src/clickhouse.js';
import { loadConfig } from '../src/config.js';
import { inlineParams } from '../src/inline-params.js';

describe('inlineParams', () => {
  it('writes each parameter as a CAST of a literal to its type', () => {
    assert.equal(
      inlineParams("SELECT {n:UInt32}, {s:String}, {xs:Array(String)}, {t:DateTime64(3, 'UTC')}", {
        n: 7,
        s: "it's",
        xs: ['a', 'b\\'],
        t: '2026-11-27 00:00:00.000',
      }),
      "SELECT CAST(7 AS UInt32), CAST('it\\'s' AS String), CAST(['a', 'b\\\\'] AS Array(String)), CAST('2026-11-27 00:00:00.000' AS DateTime64(3, 'UTC'))",
    );
  });

  it('leaves placeholders in string literals, quoted identifiers and comments as they are', () => {
    const query =
      'SELECT \'{s:String}\', `{s:String}`, "{s:String}" -- {s:String}\n/* {s:String} */ {s:String}';
    assert.equal(
      inlineParams(query, { s: 'x' }),
      "SELECT '{s:String}', `{s:String}`, \"{s:String}\" -- {s:String}\n/* {s:String} */ CAST('x' AS String)",
    );
    assert.equal(
      inlineParams("SELECT 'a\\'{s:String}', {s:String}", { s: 'x' }),
      "SELECT 'a\\'{s:String}', CAST('x' AS String)",
    );
  });

  it('gives up, so the caller binds as usual, on anything it cannot write safely', () => {
    assert.equal(inlineParams('SELECT {s:String}', {}), undefined, 'a parameter without a value');
    assert.equal(inlineParams('SELECT {s:String) FROM t --}', { s: 'x' }), undefined, 'not a type');
    assert.equal(
      inlineParams("SELECT {s:DateTime('UTC'') OR 1')}", { s: 'x' }),
      undefined,
      'a quote in an argument',
    );
    assert.equal(inlineParams('SELECT {s:String}', { s: { a: 1 } }), undefined, 'an object');
    assert.equal(inlineParams('SELECT {n:Float64}', { n: Number.NaN }), undefined, 'not a finite number');
    assert.equal(inlineParams("SELECT {'a': 1}", { a: 1 }), undefined, 'a map literal');
    const ids = Array.from(
      { length: 5000 },
      (_, i) => `0b6f2a54-4bd8-4a4e-9a57-${String(i).padStart(12, '0')}`,
    );
    assert.equal(
      inlineParams('SELECT {ids:Array(UUID)}', { ids }),
      undefined,
      'longer than ClickHouse takes',
    );
  });
});

describe('inlined parameters in chDB', () => {
  let dir: string;
  let ch: ClickHouseClient;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sightline-inline-'));
    ch = createClickHouse(loadConfig({ DATA_DIR: dir }));
  });
  after(async () => {
    await ch?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const selectOne = async (query: string, params: Record<string, unknown>) => {
    const result = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return (await result.json<{ v: unknown }>())[0]?.v;
  };

  it('reads back every string and array of strings exactly, quotes, backslashes and NULs included', async () => {
    for (const s of ["'); DROP TABLE sites; --", '\\', "\\'", '\0', 'ü ✓ 𝄞', '{s:String}', '']) {
      assert.equal(await selectOne('SELECT {s:String} AS v', { s }), s);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary' }),
        fc.array(fc.string({ unit: 'binary' })),
        async (s, xs) => {
          assert.equal(await selectOne('SELECT {s:String} AS v', { s }), s);
          assert.deepEqual(await selectOne('SELECT {xs:Array(String)} AS v', { xs }), xs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('binds a list too long to write into the statement', async () => {
    const ids = Array.from(
      { length: 8000 },
      (_, i) => `0b6f2a54-4bd8-4a4e-9a57-${String(i).padStart(12, '0')}`,
    );
    assert.equal(Number(await selectOne('SELECT length({ids:Array(UUID)}) AS v', { ids })), 8000);
  });

  it('reads numbers, times and UUIDs as their types', async () => {
    assert.equal(await selectOne('SELECT {n:UInt32} + 1 AS v', { n: 41 }), 42);
    assert.equal(await selectOne('SELECT toTypeName({n:Int64}) AS v', { n: -5 }), 'Int64');
    assert.equal(Number(await selectOne('SELECT {n:Int64} AS v', { n: -5 })), -5);
    assert.equal(
      await selectOne("SELECT toUnixTimestamp({t:DateTime('UTC')}) AS v", { t: '2026-11-27 01:00:00' }),
      Date.UTC(2026, 10, 27, 1) / 1000,
    );
    assert.equal(Number(await selectOne('SELECT arraySum({ns:Array(Int64)}) AS v', { ns: [-5, 7, 40] })), 42);
    assert.deepEqual(
      await selectOne('SELECT {xs:Array(Float64)} AS v', { xs: [0.5, -0.001, 1e21] }),
      [0.5, -0.001, 1e21],
    );
    const id = '0b6f2a54-4bd8-4a4e-9a57-2c1c2d3e4f50';
    assert.equal(await selectOne('SELECT toString({ids:Array(UUID)}[1]) AS v', { ids: [id] }), id);
  });
});
