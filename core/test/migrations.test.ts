import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Partitioners } from 'kafkajs';
import { type ClickHouseClient, createClickHouse } from '../src/clickhouse.js';
import { loadConfig } from '../src/config.js';
import { storedEventColumns } from '../src/event.js';
import { createKafka, ensureEventsTopic } from '../src/kafka.js';
import { createLogger } from '../src/logger.js';
import {
  MigrationError,
  migrate,
  readMigrations,
  render,
  statements,
  streamLast,
} from '../src/migrations.js';
import { streamlessMigration, testStack } from '../src/testing/index.js';

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

describe('streamLast', () => {
  const m = (version: number, ...sql: string[]) => ({ version, statements: sql });

  it('moves the migrations that create or read a Kafka engine table after the others, in order', () => {
    const pending = [
      m(1, 'CREATE TABLE raw (x UInt8) ENGINE = MergeTree ORDER BY x'),
      m(
        3,
        "CREATE TABLE IF NOT EXISTS queue (x UInt8) ENGINE = Kafka SETTINGS kafka_topic_list = 't'",
        'CREATE MATERIALIZED VIEW IF NOT EXISTS mv_raw TO raw AS SELECT x FROM queue',
      ),
      m(5, 'CREATE MATERIALIZED VIEW mv_rollup TO rollup AS SELECT x FROM raw'),
      m(12, 'DROP VIEW IF EXISTS mv_raw', 'CREATE MATERIALIZED VIEW mv_raw TO raw AS SELECT x FROM queue'),
      m(13, 'CREATE VIEW queue_size_like AS SELECT 1'),
    ];
    assert.deepEqual(
      streamLast(pending, []).map((p) => p.version),
      [1, 5, 13, 3, 12],
    );
  });

  it('knows the Kafka tables created by earlier runs', () => {
    const pending = [
      m(20, 'CREATE MATERIALIZED VIEW mv2 TO raw AS SELECT x FROM events_queue'),
      m(21, 'SELECT 1'),
    ];
    assert.deepEqual(
      streamLast(pending, ['events_queue']).map((p) => p.version),
      [21, 20],
    );
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
    await migrate(ch, streamlessMigration);
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

  it('starts the stream only after every other pending migration: a backlog reaches every view', async () => {
    const { config, cleanup } = await testStack('migrations-stream');
    const kafka = createKafka(config, createLogger({ LOG_LEVEL: 'warn' }));
    try {
      await ensureEventsTopic(kafka, config);
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const backlog = 3000;
      for (let i = 0; i < backlog; i += 500) {
        await producer.send({
          topic: config.KAFKA_EVENTS_TOPIC,
          messages: Array.from({ length: 500 }, (_, j) => ({ value: JSON.stringify({ x: i + j }) })),
        });
      }
      await producer.disconnect();

      // As in sql/: the Kafka table and its view come before a rollup of their target, and a slow
      // migration between them stands for the time the ones in between take.
      const sqlDir = path.join(dir, 'stream-sql');
      const fs = await import('node:fs/promises');
      await fs.mkdir(sqlDir);
      await writeFile(
        path.join(sqlDir, '0001_raw.sql'),
        'CREATE TABLE IF NOT EXISTS s_raw (x UInt32) ENGINE = MergeTree ORDER BY x;\n',
      );
      await writeFile(
        path.join(sqlDir, '0002_stream.sql'),
        `CREATE TABLE IF NOT EXISTS s_queue (x UInt32) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{{kafka_brokers}}', kafka_topic_list = '{{events_topic}}',
  kafka_group_name = '{{consumer_group}}', kafka_format = 'JSONEachRow', kafka_flush_interval_ms = 200;
CREATE MATERIALIZED VIEW IF NOT EXISTS s_mv_raw TO s_raw AS SELECT x FROM s_queue;\n`,
      );
      await writeFile(path.join(sqlDir, '0003_slow.sql'), 'SELECT sleep(3);\nSELECT sleep(3);\n');
      await writeFile(
        path.join(sqlDir, '0004_rollup.sql'),
        `CREATE TABLE IF NOT EXISTS s_rollup (n UInt64) ENGINE = SummingMergeTree ORDER BY tuple();
CREATE MATERIALIZED VIEW IF NOT EXISTS s_mv_rollup TO s_rollup AS SELECT count() AS n FROM s_raw;\n`,
      );

      await ch.command({ query: 'DROP TABLE IF EXISTS schema_migrations' });
      const { applied } = await migrate(ch, {
        dir: sqlDir,
        variables: {
          kafka_brokers: config.KAFKA_BROKERS!,
          events_topic: config.KAFKA_EVENTS_TOPIC,
          consumer_group: config.KAFKA_CONSUMER_GROUP,
        },
      });
      assert.deepEqual(
        applied.map((m) => m.version),
        [1, 3, 4, 2],
        'the stream migration runs last',
      );

      const count = async (query: string) =>
        Number((await (await ch.query({ query, format: 'JSONEachRow' })).json<{ n: number }>())[0]!.n);
      // Both: a block lands in s_raw before s_mv_rollup writes its rollup part, and the whole
      // backlog can arrive as one block, so s_raw can hold all of it while s_rollup still holds none.
      const deadline = Date.now() + 60_000;
      while (
        Date.now() < deadline &&
        ((await count('SELECT count() AS n FROM s_raw')) < backlog ||
          (await count('SELECT sum(n) AS n FROM s_rollup')) < backlog)
      ) {
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(await count('SELECT count() AS n FROM s_raw'), backlog, 'the backlog was consumed');
      assert.equal(await count('SELECT sum(n) AS n FROM s_rollup'), backlog, 'the rollup saw every block');
    } finally {
      await ch.command({ query: 'DROP VIEW IF EXISTS s_mv_raw' }).catch(() => {});
      await ch.command({ query: 'DROP TABLE IF EXISTS s_queue' }).catch(() => {});
      await cleanup();
    }
  });
});
