import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse, loadConfig } from '@sightline/core';
import { backupDataDir, restoreDataDir } from '../src/backup-data.js';

async function counts(ch: ClickHouseClient) {
  const result = await ch.query({
    query: 'SELECT (SELECT count() FROM raw) AS raw, (SELECT sum(n) FROM rollup) AS rolled',
    format: 'JSONEachRow',
  });
  const row = (await result.json<{ raw: string; rolled: string }>())[0]!;
  return { raw: Number(row.raw), rolled: Number(row.rolled) };
}

/**
 * Stop-and-copy on a chDB directory with a MergeTree table, a materialized view and its rollup.
 * (chDB does not reopen, in one process, a directory that holds a Kafka engine table once a session
 * on it was closed, so the service's own directory is not reopened here; the copy is the same files.)
 */
describe('backup and restore of the embedded ClickHouse data', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('restores what the backup held after the data was deleted', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-backup-data-'));
    const backups = await mkdtemp(path.join(tmpdir(), 'sightline-backups-'));
    dirs.push(dataDir, backups);
    const config = loadConfig({ DATA_DIR: dataDir });

    let ch = createClickHouse(config);
    await ch.command({ query: 'CREATE TABLE raw (id UUID, site String) ENGINE = MergeTree ORDER BY id' });
    await ch.command({
      query: 'CREATE TABLE rollup (site String, n UInt64) ENGINE = SummingMergeTree ORDER BY site',
    });
    await ch.command({
      query:
        'CREATE MATERIALIZED VIEW mv_rollup TO rollup AS SELECT site, count() AS n FROM raw GROUP BY site',
    });
    for (let i = 0; i < 3; i++)
      await ch.command({ query: `INSERT INTO raw SELECT generateUUIDv4(), 's${i}' FROM numbers(1000)` });
    const before = await counts(ch);
    assert.deepEqual(before, { raw: 3000, rolled: 3000 });
    await ch.close();

    const to = path.join(backups, 'b1');
    assert.ok((await backupDataDir(dataDir, to)) > 0);
    await assert.rejects(backupDataDir(dataDir, to), /exists already/);

    ch = createClickHouse(config);
    await ch.command({ query: 'TRUNCATE TABLE raw' });
    await ch.command({ query: 'TRUNCATE TABLE rollup' });
    assert.deepEqual(await counts(ch), { raw: 0, rolled: 0 });
    await ch.close();

    await assert.rejects(restoreDataDir(dataDir, dataDir), /not a backup/);
    const kept = await restoreDataDir(to, dataDir);
    assert.ok(kept?.includes('before-restore'));
    ch = createClickHouse(config);
    assert.deepEqual(await counts(ch), before);
    await ch.close();
  });
});
