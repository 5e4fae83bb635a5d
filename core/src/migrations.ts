import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { clusterSchema, toCluster } from './cluster-ddl.js';
import type { Logger } from './logger.js';

/** The repository's sql/ folder, found from this file in both src/ and dist/. */
export const defaultMigrationsDir = fileURLToPath(new URL('../../sql', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  file: string;
  /** The file as written, with {{placeholders}}; its checksum is what guards against edits. */
  template: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export async function readMigrations(dir = defaultMigrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = fileName.exec(file);
    if (!match) throw new MigrationError(`${file}: migration files are named NNNN_snake_case.sql`);
    const template = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2]!,
      file,
      template,
      checksum: createHash('sha256').update(template).digest('hex'),
    });
  }
  const versions = migrations.map((m) => m.version);
  const duplicate = versions.find((v, i) => versions.indexOf(v) !== i);
  if (duplicate !== undefined) throw new MigrationError(`two migrations share version ${duplicate}`);
  return migrations;
}

/** Replaces {{name}} with its value; an unknown name is an error, never an empty string. */
export function render(template: string, variables: Record<string, string | number>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new MigrationError(`migration uses {{${name}}} but no value was given`);
    return String(value);
  });
}

/** Splits a file into statements at a semicolon that ends a line; full-line comments are dropped first. */
export function statements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const ledgerDdl = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version`;

export interface MigrateOptions {
  dir?: string;
  variables: Record<string, string | number>;
  logger?: Logger;
  /**
   * A ClickHouse cluster name (CLICKHOUSE_CLUSTER): every statement runs in its cluster form
   * (Replicated and Distributed tables, ON CLUSTER; see cluster-ddl.ts). Unset: as written.
   */
  cluster?: string;
}

/**
 * Applies the migrations not yet recorded in schema_migrations. Re-running is a no-op; a recorded
 * migration whose file changed is refused, since its tables were made from the old text. Statements
 * use IF NOT EXISTS, so a run cut off midway is finished by the next one.
 *
 * Order: version order, except that the migrations that touch the stream (see streamLast) run after
 * every other pending one.
 */
export async function migrate(
  ch: ClickHouseClient,
  options: MigrateOptions,
): Promise<{ applied: Migration[] }> {
  const migrations = await readMigrations(options.dir);
  const forServer = clusterForm(migrations, options);
  for (const statement of forServer(ledgerDdl.trim())) await ch.command({ query: statement });
  const result = await ch.query({
    query: 'SELECT version, name, checksum FROM schema_migrations',
    format: 'JSONEachRow',
  });
  const recorded = new Map(
    (await result.json<{ version: number; name: string; checksum: string }>()).map((r) => [r.version, r]),
  );

  for (const migration of migrations) {
    const done = recorded.get(migration.version);
    if (done && done.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.file} was edited after it was applied (checksum ${done.checksum.slice(0, 12)} recorded, ${migration.checksum.slice(0, 12)} on disk): restore the file and put the change in a new migration`,
      );
    }
  }
  const pending = migrations
    .filter((m) => !recorded.has(m.version))
    .map((m) => ({ ...m, statements: statements(render(m.template, options.variables)) }));
  const applied: Migration[] = [];
  for (const { statements: sql, ...migration } of streamLast(pending, await kafkaTables(ch))) {
    const started = Date.now();
    // Ordered by the single-node text (streamLast reads it); each statement then runs in its form.
    for (const statement of sql.flatMap(forServer)) {
      await ch.command({ query: statement });
    }
    await ch.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    });
    options.logger?.info(
      { version: migration.version, name: migration.name, ms: Date.now() - started },
      'migration applied',
    );
    applied.push(migration);
  }
  return { applied };
}

/**
 * The form statements run in: as written on one node; with a cluster, the cluster form, which needs
 * every migration's tables (applied ones too) to know which are sharded.
 */
export function clusterForm(
  migrations: Migration[],
  options: Pick<MigrateOptions, 'cluster' | 'variables'>,
): (statement: string) => string[] {
  const { cluster } = options;
  if (!cluster) return (statement) => [statement];
  const all = migrations.flatMap((m) => statements(render(m.template, options.variables)));
  const schema = clusterSchema(cluster, [ledgerDdl.trim(), ...all]);
  return (statement) => toCluster(statement, schema);
}

const kafkaTableDdl =
  /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([\w.]+?)`?\s*\([\s\S]*\bENGINE\s*=\s*Kafka\b/i;

/**
 * The stream starts the moment a materialized view reading a Kafka engine table is attached: its
 * consumer then pushes blocks through whatever views exist at that instant, and offsets are committed
 * after each block. On a fresh install with a backlog in the topic, a view created by a later
 * migration (0005 speed_minute, 0006 speed_dimensions come after 0003 kafka_stream) would miss the
 * blocks consumed in between, for good. So the migrations that create a Kafka engine table or name
 * one (its views) run after every other pending migration: the stream starts only once the schema
 * below it is complete. They keep their version order among themselves.
 *
 * A stream migration should therefore hold only Kafka tables and the views that read them; the
 * tables those views write to belong in ordinary migrations (which run first).
 */
export function streamLast<T extends { statements: string[] }>(
  pending: T[],
  existingKafkaTables: string[],
): T[] {
  const kafka = new Set(existingKafkaTables);
  for (const m of pending) {
    for (const statement of m.statements) {
      const name = kafkaTableDdl.exec(statement)?.[1];
      if (name) kafka.add(name.split('.').at(-1)!);
    }
  }
  const names = [...kafka].map((n) => n.replace(/\W/g, '')).filter((n) => n.length > 0);
  const reads = names.length ? new RegExp(`\\b(?:${names.join('|')})\\b`) : undefined;
  const touchesStream = (m: T) => m.statements.some((s) => kafkaTableDdl.test(s) || reads?.test(s));
  return [...pending.filter((m) => !touchesStream(m)), ...pending.filter(touchesStream)];
}

async function kafkaTables(ch: ClickHouseClient): Promise<string[]> {
  const result = await ch.query({
    query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'Kafka'",
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string }>()).map((r) => r.name);
}
