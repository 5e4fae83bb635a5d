import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse } from '../src/clickhouse.js';
import { loadConfig } from '../src/config.js';
import { storedEventColumns } from '../src/event.js';
import { MigrationError, migrate, readMigrations, render, statements } from '../src/migrations.js';

describe('statements', () => {
  it('splits at line-ending semicolons and drops comment lines', () => {
    const sql = "-- a comment; with a semicolon;\nCREATE TABLE a (x String DEFAULT ';');\n\nSELECT 1;\n";
    assert.deepEqual(statements(sql), ["CREATE TABLE a (x String DEFAULT ';')", 'SELECT 1']);
  });

  it('renders placeholders and refuses unknown ones', () => {
    assert.equal(
      render("topic = '{{ topic }}', n = {{n}}", { topic: 'events', n: 2 }),
      "topic = 'events', n = 2",
    );
    assert.throws(() => render('{{missing}}', {}), MigrationError);
  });
});

describe('migrate (chDB)', () => {
  let dir: string;
  let ch: ClickHouseClient;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sightline-migrations-'));
    ch = createClickHouse(loadConfig({ DATA_DIR: path.join(dir, 'data') }));
  });
  after(async () => {
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies numbered files in order, records them, and is a no-op the second time', async () => {
    const sqlDir = path.join(dir, 'sql');
    await import('node:fs/promises').then((fs) => fs.mkdir(sqlDir));
    await writeFile(path.join(sqlDir, '0002_second.sql'), 'INSERT INTO t VALUES (2);\n');
    await writeFile(
      path.join(sqlDir, '0001_first.sql'),
      'CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = MergeTree ORDER BY x;\n',
    );

    const first = await migrate(ch, { dir: sqlDir, variables: {} });
    assert.deepEqual(
      first.applied.map((m) => m.version),
      [1, 2],
    );
    const second = await migrate(ch, { dir: sqlDir, variables: {} });
    assert.equal(second.applied.length, 0);
    const rows = await (await ch.query({ query: 'SELECT count() AS n FROM t', format: 'JSONEachRow' })).json<{
      n: number;
    }>();
    assert.equal(Number(rows[0]!.n), 1, 'the insert ran once');

    await writeFile(path.join(sqlDir, '0002_second.sql'), 'INSERT INTO t VALUES (3);\n');
    await assert.rejects(
      migrate(ch, { dir: sqlDir, variables: {} }),
      /0002_second.sql was edited after it was applied/,
    );
  });

  it("creates the project's schema, and events_raw holds every field of the event contract", async () => {
    await ch.command({ query: 'DROP TABLE IF EXISTS schema_migrations' });
    await migrate(ch, {
      variables: {
        kafka_brokers: '127.0.0.1:1',
        events_topic: 'unused',
        consumer_group: 'unused',
        kafka_consumers: 1,
      },
    });
    const columns = await (
      await ch.query({
        query: "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'events_raw'",
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    const names = columns.map((c) => c.name);
    assert.deepEqual(names, [...storedEventColumns, 'kafka_partition', 'kafka_offset', 'kafka_ts']);
    assert.ok((await readMigrations()).length >= 3);
  });
});
