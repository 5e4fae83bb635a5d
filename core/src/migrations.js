import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
/** The repository's sql/ folder, found from this file in both src/ and dist/. */
export const defaultMigrationsDir = fileURLToPath(new URL('../../sql', import.meta.url));
export class MigrationError extends Error {
  name = 'MigrationError';
}
const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;
export async function readMigrations(dir = defaultMigrationsDir) {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations = [];
  for (const file of files) {
    const match = fileName.exec(file);
    if (!match) throw new MigrationError(`${file}: migration files are named NNNN_snake_case.sql`);
    const template = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2],
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
export function render(template, variables) {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name) => {
    const value = variables[name];
    if (value === undefined) throw new MigrationError(`migration uses {{${name}}} but no value was given`);
    return String(value);
  });
}
/** Splits a file into statements at a semicolon that ends a line; full-line comments are dropped first. */
export function statements(sql) {
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
/**
 * Applies, in version order, the migrations not yet recorded in schema_migrations. Re-running is a
 * no-op; a recorded migration whose file changed is refused, since its tables were made from the old
 * text. Statements use IF NOT EXISTS, so a run cut off midway is finished by the next one.
 */
export async function migrate(ch, options) {
  const migrations = await readMigrations(options.dir);
  await ch.command({ query: ledgerDdl });
  const result = await ch.query({
    query: 'SELECT version, name, checksum FROM schema_migrations',
    format: 'JSONEachRow',
  });
  const recorded = new Map((await result.json()).map((r) => [r.version, r]));
  for (const migration of migrations) {
    const done = recorded.get(migration.version);
    if (done && done.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.file} was edited after it was applied (checksum ${done.checksum.slice(0, 12)} recorded, ${migration.checksum.slice(0, 12)} on disk): restore the file and put the change in a new migration`,
      );
    }
  }
  const applied = [];
  for (const migration of migrations) {
    if (recorded.has(migration.version)) continue;
    const started = Date.now();
    for (const statement of statements(render(migration.template, options.variables))) {
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
