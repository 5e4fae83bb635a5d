import type { ClickHouseClient, Logger } from '@sightline/core';

/**
 * The storage the batch rollups are read best with. A serving read takes a few sites' rows of a
 * month, and a site costs at least one granule per part of the month: ClickHouse's default of 8,192
 * rows per granule (and 64 KB compression blocks) makes every site's read decompress and filter
 * thousands of other sites' rows. On 10 M events over 30 days for 100,000 sites (bench:serving,
 * bench/RESULTS.md), 1,024-row granules with 4 KB blocks took about a tenth off the API's CPU per
 * 30-day hourly series and a fifth off its top-10 pages, and the one part per month the rebuild
 * leaves halved the top-10's again (until hourly commits add parts).
 *
 * ClickHouse fixes a table's granularity when it is created, so tables made before (sql/0010) are
 * rebuilt with this storage by rebuildRollups.
 */
export const rollupStorage: Readonly<Record<string, number>> = {
  index_granularity: 1024,
  min_compress_block_size: 4096,
};

export const rollupTables = ['batch_hourly', 'batch_dimensions_hourly'] as const;

/** Where a table is copied to before the swap; dropped if a rebuild died half-way. */
const copyName = (table: string) => `${table}_rebuild`;

/** A CREATE TABLE statement split at its SETTINGS clause, the last thing in it (`k = v, k = v`). */
function splitSettings(createQuery: string): { statement: string; settings: Map<string, string> } {
  const at = createQuery.lastIndexOf(' SETTINGS ');
  const settings = new Map<string, string>();
  if (at < 0) return { statement: createQuery, settings };
  for (const pair of createQuery.slice(at + ' SETTINGS '.length).split(',')) {
    const [name, value] = pair.split('=').map((s) => s.trim());
    if (name && value !== undefined) settings.set(name, value);
  }
  return { statement: createQuery.slice(0, at), settings };
}

/**
 * The CREATE statement of `copy`: the table's own (its columns as they are after every migration),
 * under the new name, with its settings and rollupStorage's.
 */
export function copyDdl(createQuery: string, copy: string): string {
  const { statement, settings } = splitSettings(createQuery);
  for (const [name, value] of Object.entries(rollupStorage)) settings.set(name, String(value));
  const clause = [...settings].map(([name, value]) => `${name} = ${value}`).join(', ');
  const head = /^CREATE TABLE \S+ /.exec(statement);
  if (!head) throw new Error(`unexpected CREATE statement: ${createQuery.slice(0, 60)}`);
  return `CREATE TABLE ${copy} ${statement.slice(head[0].length)} SETTINGS ${clause}`;
}

interface TableInfo {
  name: string;
  create_table_query: string;
}

/** The rollup tables whose storage is not rollupStorage yet. */
export async function tablesToRebuild(ch: ClickHouseClient): Promise<TableInfo[]> {
  const tables = await (
    await ch.query({
      query: `SELECT name, create_table_query FROM system.tables
              WHERE database = currentDatabase() AND name IN {tables:Array(String)}`,
      query_params: { tables: [...rollupTables] },
      format: 'JSONEachRow',
    })
  ).json<TableInfo>();
  return tables.filter((t) => {
    const { settings } = splitSettings(t.create_table_query);
    return Object.entries(rollupStorage).some(([name, value]) => settings.get(name) !== String(value));
  });
}

const count = async (ch: ClickHouseClient, table: string) => {
  const [row] = await (
    await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  return Number(row?.n ?? 0);
};

/**
 * Rebuilds the rollup tables that do not have rollupStorage: each is copied whole into a new table
 * with that storage, month by month, then swapped in with one EXCHANGE TABLES (atomic: a reader sees
 * the old table or the new one, and both hold the same rows) and the old one dropped. Run only while
 * nothing writes the rollups (the batch layer pauses its recomputes and cleanups for it), so the
 * copy misses no row. Readers go on reading the old table meanwhile.
 *
 * Table names come from rollupTables and system.tables, partition ids from system.parts (checked):
 * safe to use as identifiers. `signal` stops it between months (the copy is dropped).
 */
export async function rebuildRollups(
  ch: ClickHouseClient,
  logger: Logger,
  signal?: AbortSignal,
): Promise<{ tables: string[]; rows: number; seconds: number }> {
  const started = Date.now();
  const todo = await tablesToRebuild(ch);
  let rows = 0;
  for (const table of todo) {
    const copy = copyName(table.name);
    await ch.command({ query: `DROP TABLE IF EXISTS ${copy}` });
    await ch.command({ query: copyDdl(table.create_table_query, copy) });
    const partitions = await (
      await ch.query({
        query: `SELECT partition_id, sum(rows) AS rows FROM system.parts
                WHERE database = currentDatabase() AND table = {table:String} AND active
                GROUP BY partition_id ORDER BY partition_id`,
        query_params: { table: table.name },
        format: 'JSONEachRow',
      })
    ).json<{ partition_id: string; rows: string }>();
    for (const [i, p] of partitions.entries()) {
      if (signal?.aborted) {
        await ch.command({ query: `DROP TABLE IF EXISTS ${copy}` });
        signal.throwIfAborted();
      }
      if (!/^\w+$/.test(p.partition_id)) throw new Error(`unexpected partition id ${p.partition_id}`);
      const at = Date.now();
      await ch.command({
        query: `INSERT INTO ${copy} SELECT * FROM ${table.name} WHERE _partition_id = {partition:String}`,
        query_params: { partition: p.partition_id },
      });
      // The insert wrote a part per million rows; a read pays per part, so the month is merged into
      // one before readers see it, rather than by background merges afterwards.
      await ch.command({ query: `OPTIMIZE TABLE ${copy} PARTITION ID '${p.partition_id}' FINAL` });
      logger.info(
        {
          table: table.name,
          partition: p.partition_id,
          rows: Number(p.rows),
          seconds: (Date.now() - at) / 1000,
          done: `${i + 1}/${partitions.length}`,
        },
        'rollup rebuild: partition copied',
      );
    }
    const [before, after] = [await count(ch, table.name), await count(ch, copy)];
    if (before !== after) {
      await ch.command({ query: `DROP TABLE IF EXISTS ${copy}` });
      throw new Error(`rollup rebuild of ${table.name}: ${after} rows copied of ${before}; left as it was`);
    }
    await ch.command({ query: `EXCHANGE TABLES ${table.name} AND ${copy}` });
    await ch.command({ query: `DROP TABLE ${copy}` });
    rows += before;
  }
  return { tables: todo.map((t) => t.name), rows, seconds: (Date.now() - started) / 1000 };
}
