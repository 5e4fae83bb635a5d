import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse } from '../src/clickhouse.js';
import { clusterSchema, localName, shardingKey, toCluster } from '../src/cluster-ddl.js';
import { loadConfig } from '../src/config.js';
import { clusterForm, MigrationError, readMigrations, render, statements } from '../src/migrations.js';

const variables = {
  kafka_brokers: 'kafka-1:9092,kafka-2:9092,kafka-3:9092',
  events_topic: 'events',
  consumer_group: 'sightline-speed',
  kafka_consumers: 2,
};
const createTable =
  /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)\s*\(([\s\S]*)\)\s*ENGINE\s*=\s*(\w+)/i;
const mergeTree = /^\w*MergeTree$/;

/** Every statement of every file in sql/, as the single-node runner renders it. */
async function singleNode() {
  const migrations = await readMigrations();
  return {
    migrations,
    all: migrations.flatMap((m) =>
      statements(render(m.template, variables)).map((statement) => ({ file: m.file, statement })),
    ),
  };
}

describe('cluster DDL, for every statement in sql/', () => {
  let ch: ClickHouseClient;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sightline-cluster-ddl-'));
    ch = createClickHouse(loadConfig({ DATA_DIR: dir }));
  });
  after(async () => {
    await ch?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is the statements as written when no cluster is configured', async () => {
    const { migrations, all } = await singleNode();
    const form = clusterForm(migrations, { variables });
    for (const { statement } of all) assert.deepEqual(form(statement), [statement]);
  });

  it('makes replicated tables with Distributed tables sharded by site, and Kafka tables on every node', async () => {
    const { migrations, all } = await singleNode();
    const form = clusterForm(migrations, { cluster: 'main', variables });
    const tables = all.filter(({ statement }) => createTable.test(statement));
    assert.ok(tables.length >= 10, `every table of sql/ is checked (${tables.length})`);
    for (const { file, statement } of tables) {
      const [, name, columns, engine] = createTable.exec(statement)!;
      const out = form(statement);
      const where = `${file} ${name}`;
      if (engine === 'Kafka') {
        assert.equal(out.length, 1, where);
        assert.match(out[0]!, new RegExp(`^CREATE TABLE IF NOT EXISTS ${name} ON CLUSTER main \\(`), where);
        assert.match(out[0]!, /kafka_group_name = 'sightline-speed'/, `${where}: one consumer group`);
        assert.ok(out[0]!.endsWith(statement.slice(statement.indexOf('ENGINE'))), `${where}: settings kept`);
        continue;
      }
      assert.match(engine!, mergeTree, `${where}: a MergeTree family table`);
      const tail = statement
        .slice(statement.search(/\)\s*ENGINE/))
        .replace(/^\)\s*ENGINE\s*=\s*\w+(\([^)]*\))?/, '');
      const args = /ENGINE\s*=\s*\w+\(([^)]*)\)/.exec(statement)?.[1];
      const withArgs = (p: string) => [`'${p}'`, "'{replica}'", ...(args ? [args] : [])].join(', ');
      if (/(?:^|,)\s*site_id\s/.test(columns!)) {
        assert.equal(out.length, 2, `${where}: a local and a Distributed table`);
        const [local, distributed] = out as [string, string];
        assert.ok(
          local.startsWith(`CREATE TABLE IF NOT EXISTS ${name}_local ON CLUSTER main (${columns})`),
          `${where}: the same columns in the local table`,
        );
        assert.ok(
          local.includes(
            `ENGINE = Replicated${engine}(${withArgs('/clickhouse/tables/{shard}/{database}/{table}')})`,
          ),
          `${where}: ${local.slice(-300)}`,
        );
        assert.ok(local.endsWith(tail), `${where}: partitioning, order and TTL kept`);
        assert.equal(
          distributed,
          `CREATE TABLE IF NOT EXISTS ${name} ON CLUSTER main AS ${name}_local ` +
            `ENGINE = Distributed(main, currentDatabase(), ${name}_local, cityHash64(site_id))`,
        );
      } else {
        assert.equal(out.length, 1, `${where}: one table replicated on every node`);
        assert.ok(out[0]!.includes(` ${name} ON CLUSTER main (${columns})`), where);
        assert.ok(
          out[0]!.includes(
            `ENGINE = Replicated${engine}(${withArgs('/clickhouse/tables/all/{database}/{table}')})`,
          ),
          `${where}: ${out[0]}`,
        );
        assert.ok(out[0]!.endsWith(tail), `${where}: partitioning, order and TTL kept`);
      }
    }
    const names = tables.map(({ statement }) => createTable.exec(statement)![1]);
    for (const expected of ['events_raw', 'speed_hourly', 'batch_hourly', 'events_queue', 'batch_commits'])
      assert.ok(names.includes(expected), expected);
  });

  it('points materialized views that read a sharded table at the local tables, the Kafka ones at the Distributed table', async () => {
    const { migrations, all } = await singleNode();
    const form = clusterForm(migrations, { cluster: 'main', variables });
    const schema = clusterSchema(
      'main',
      all.map((s) => s.statement),
    );
    const views = all.filter(({ statement }) => /^CREATE\s+MATERIALIZED\s+VIEW/i.test(statement));
    assert.ok(views.length >= 5);
    for (const { file, statement } of views) {
      const [out, ...more] = form(statement);
      assert.equal(more.length, 0);
      const target = /\sTO\s+(\w+)/.exec(statement)![1]!;
      const source = /\bFROM\s+(\w+)/.exec(statement)![1]!;
      const where = `${file} ${target} <- ${source}`;
      assert.match(out!, /^CREATE MATERIALIZED VIEW IF NOT EXISTS \w+ ON CLUSTER main TO /, where);
      if (schema.kafka.has(source)) {
        assert.ok(out!.includes(` TO ${target} AS`), `${where}: writes through the Distributed table`);
        assert.ok(out!.includes(`FROM ${source}\n`), where);
      } else {
        assert.ok(schema.sharded.has(source), `${where}: reads a sharded table`);
        const to = schema.sharded.has(target) ? localName(target) : target;
        assert.ok(out!.includes(` TO ${to} AS`), `${where}: writes the local table`);
        assert.ok(out!.includes(`FROM ${localName(source)}\n`), `${where}: fires on the local inserts`);
      }
      // Nothing but the names changed.
      assert.equal(out!.replace(' ON CLUSTER main', '').replace(/_local\b/g, ''), statement, where);
    }
    assert.ok(schema.sharded.has('events_raw') && schema.kafka.has('events_queue'));
  });

  it('keeps views, databases and column changes as written, on every node', async () => {
    const { migrations, all } = await singleNode();
    const form = clusterForm(migrations, { cluster: 'main', variables });
    const schema = clusterSchema(
      'main',
      all.map((s) => s.statement),
    );
    for (const { file, statement } of all) {
      if (/^CREATE\s+(OR\s+REPLACE\s+)?VIEW|^CREATE\s+DATABASE/i.test(statement)) {
        const [out, ...more] = form(statement);
        assert.equal(more.length, 0, file);
        assert.match(out!, / ON CLUSTER main\b/, file);
        assert.equal(
          out!.replace(' ON CLUSTER main', ''),
          statement,
          `${file}: the readers' view, unchanged`,
        );
      } else if (/^ALTER\s+TABLE/i.test(statement)) {
        const table = /^ALTER\s+TABLE\s+(\w+)/i.exec(statement)![1]!;
        const out = form(statement);
        const action = statement.replace(/^ALTER\s+TABLE\s+\w+\s+/i, '');
        const expected = schema.sharded.has(table)
          ? [
              `ALTER TABLE ${table}_local ON CLUSTER main ${action}`,
              `ALTER TABLE ${table} ON CLUSTER main ${action}`,
            ]
          : [`ALTER TABLE ${table} ON CLUSTER main ${action}`];
        assert.deepEqual(out, expected, file);
      }
    }
  });

  it('leaves no statement of sql/ without its cluster form, and ClickHouse parses each one', async () => {
    const { migrations, all } = await singleNode();
    const form = clusterForm(migrations, { cluster: 'main', variables });
    let parsed = 0;
    for (const { file, statement } of all) {
      for (const out of form(statement)) {
        assert.match(out, /\bON CLUSTER main\b/, `${file}: ${out.slice(0, 80)}`);
        const result = await ch.exec({
          query: `EXPLAIN AST ${out}`,
          clickhouse_settings: { default_format: 'TabSeparatedRaw' },
        });
        for await (const _ of result.stream) {
          // drained: ClickHouse's parser accepted the statement
        }
        parsed++;
      }
    }
    assert.ok(parsed > all.length, `sharded tables add their Distributed table (${parsed} statements)`);
  });
});

describe('cluster DDL rule, for migrations still to come', () => {
  const schema = clusterSchema('main', [
    'CREATE TABLE IF NOT EXISTS visits (site_id String, n UInt64) ENGINE = SummingMergeTree(n) ORDER BY site_id',
    'CREATE TABLE IF NOT EXISTS jobs (id String) ENGINE = ReplacingMergeTree ORDER BY id',
  ]);

  it('shards a new table with site_id and replicates one without', () => {
    assert.ok(schema.sharded.has('visits') && !schema.sharded.has('jobs'));
    assert.match(
      toCluster(
        'CREATE TABLE IF NOT EXISTS visits (site_id String, n UInt64) ENGINE = SummingMergeTree(n) ORDER BY site_id',
        schema,
      )[0]!,
      /^CREATE TABLE IF NOT EXISTS visits_local ON CLUSTER main .* ENGINE = ReplicatedSummingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}', n\) ORDER BY site_id$/,
    );
    assert.equal(shardingKey, 'cityHash64(site_id)');
  });

  it('alters and drops both tables of a sharded one, the Distributed one only for column changes', () => {
    assert.deepEqual(toCluster('ALTER TABLE visits ADD COLUMN IF NOT EXISTS m UInt8', schema), [
      'ALTER TABLE visits_local ON CLUSTER main ADD COLUMN IF NOT EXISTS m UInt8',
      'ALTER TABLE visits ON CLUSTER main ADD COLUMN IF NOT EXISTS m UInt8',
    ]);
    assert.deepEqual(toCluster('ALTER TABLE visits MODIFY TTL hour + INTERVAL 1 YEAR', schema), [
      'ALTER TABLE visits_local ON CLUSTER main MODIFY TTL hour + INTERVAL 1 YEAR',
    ]);
    assert.deepEqual(toCluster('DROP TABLE IF EXISTS visits', schema), [
      'DROP TABLE IF EXISTS visits ON CLUSTER main',
      'DROP TABLE IF EXISTS visits_local ON CLUSTER main',
    ]);
    assert.deepEqual(toCluster('DROP VIEW IF EXISTS v', schema), ['DROP VIEW IF EXISTS v ON CLUSTER main']);
  });

  it('refuses what it has no rule for, instead of running it on one node', () => {
    assert.throws(() => toCluster('RENAME TABLE visits TO visits_old', schema), MigrationError);
    assert.throws(() => toCluster('CREATE TABLE t (x UInt8) ENGINE = Memory', schema), /no cluster form/);
    assert.throws(() => toCluster('CREATE MATERIALIZED VIEW m AS SELECT 1 FROM visits', schema), /TO/);
    assert.throws(() => clusterSchema("main'; DROP", []), MigrationError);
  });
});
