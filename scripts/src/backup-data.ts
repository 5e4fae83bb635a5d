import { cp, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Backup of the embedded mode's ClickHouse data by stop-and-copy. chDB does not allow BACKUP …
 * TO File/Disk without server configuration (backups.allowed_path) that the embedded engine does
 * not read, and only one process may open the directory, so the copy is taken while the service is
 * stopped: every part on disk is then complete and no merge is running.
 */

const marker = 'sightline-backup.json';

export function clickhouseDir(dataDir: string): string {
  return path.join(dataDir, 'clickhouse');
}

/** Copies DATA_DIR/clickhouse to `to` (which must not exist yet); returns the bytes copied. */
export async function backupDataDir(dataDir: string, to: string): Promise<number> {
  const from = clickhouseDir(dataDir);
  await stat(from).catch(() => {
    throw new Error(`${from} does not exist: is DATA_DIR the service's data directory?`);
  });
  if (await exists(to)) throw new Error(`${to} exists already; back up to a new directory`);
  await mkdir(path.dirname(path.resolve(to)), { recursive: true });
  await cp(from, path.join(to, 'clickhouse'), { recursive: true, preserveTimestamps: true });
  await writeFile(
    path.join(to, marker),
    `${JSON.stringify({ taken_at: new Date().toISOString(), from: path.resolve(dataDir) })}\n`,
  );
  return size(to);
}

/**
 * Replaces DATA_DIR/clickhouse with the backup in `from`. The current directory is kept beside it
 * (clickhouse.before-restore-<time>) until the operator removes it.
 */
export async function restoreDataDir(from: string, dataDir: string): Promise<string | undefined> {
  if (!(await exists(path.join(from, marker))))
    throw new Error(`${from} is not a backup taken by npm run backup (no ${marker})`);
  const target = clickhouseDir(dataDir);
  let kept: string | undefined;
  if (await exists(target)) {
    kept = `${target}.before-restore-${new Date().toISOString().replaceAll(':', '-')}`;
    await rename(target, kept);
  }
  await mkdir(dataDir, { recursive: true });
  await cp(path.join(from, 'clickhouse'), target, { recursive: true, preserveTimestamps: true });
  return kept;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function size(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  return total;
}
