import { type ClickHouseClient, toClickHouseTime } from '@sightline/core';

/**
 * A reader may still be in the middle of a query over a run for a while after a newer run of the
 * same hour was committed: the old run's rows stay this long after they stop being the committed
 * ones. Queries take seconds; ten minutes is a wide margin.
 */
export const CLEANUP_GRACE_MS = 10 * 60_000;
/** A run started this long ago that neither committed nor failed belongs to a worker that died. */
export const ABANDONED_AFTER_MS = 6 * 3600_000;

const toSeconds = (ms: number) => Math.floor(ms / 1000);

/**
 * The runs whose rows no reader reads or will read, by what batch_runs recorded:
 * - a committed run that is no longer its hour's committed run, superseded more than the grace
 *   period ago (the time of the hour's current commit);
 * - a failed run (it never became visible; a run is recorded failed only before its commit), after
 *   the grace period;
 * - a run that started more than ABANDONED_AFTER_MS ago and neither committed nor failed.
 * A run being written is never chosen: it has only its 'started' record, and it is young. A run
 * already cleaned (its 'cleaned' record) is not chosen again.
 */
export async function supersededRuns(
  ch: ClickHouseClient,
  options: { now?: number; graceMs?: number; abandonedAfterMs?: number } = {},
): Promise<{ hour: string; run_id: string }[]> {
  const now = options.now ?? Date.now();
  const result = await ch.query({
    query: `SELECT toString(r.hour) AS hour, toString(r.run_id) AS run_id
      FROM (
        SELECT hour, run_id, groupUniqArray(status) AS statuses, min(finished_at) AS first_at,
          max(finished_at) AS last_at
        FROM batch_runs GROUP BY hour, run_id
      ) AS r
      LEFT JOIN batch_committed AS c ON c.hour = r.hour
      WHERE r.run_id != c.run_id AND NOT has(r.statuses, 'cleaned') AND (
        (has(r.statuses, 'committed') AND c.committed_at < toDateTime({cutoff:UInt32}, 'UTC'))
        OR (NOT has(r.statuses, 'committed') AND has(r.statuses, 'failed')
            AND r.last_at < toDateTime({cutoff:UInt32}, 'UTC'))
        OR (NOT has(r.statuses, 'committed') AND NOT has(r.statuses, 'failed')
            AND r.first_at < toDateTime({abandoned:UInt32}, 'UTC'))
      )
      ORDER BY r.hour`,
    query_params: {
      cutoff: toSeconds(now - (options.graceMs ?? CLEANUP_GRACE_MS)),
      abandoned: toSeconds(now - (options.abandonedAfterMs ?? ABANDONED_AFTER_MS)),
    },
    format: 'JSONEachRow',
  });
  return result.json<{ hour: string; run_id: string }>();
}

/**
 * Deletes the rows of superseded runs from the batch rollups. A mutation per table, scoped to the
 * hours concerned so only their parts are rewritten, waited for; then each run gets a 'cleaned'
 * record in batch_runs (which keeps every run's history) so no later cleanup picks it again.
 */
export async function cleanupSupersededRuns(
  ch: ClickHouseClient,
  options: { now?: number; graceMs?: number; abandonedAfterMs?: number } = {},
): Promise<{ runs: number }> {
  await dropAbandonedWorkTables(
    ch,
    (options.now ?? Date.now()) - (options.abandonedAfterMs ?? ABANDONED_AFTER_MS),
  );
  const runs = await supersededRuns(ch, options);
  if (runs.length === 0) return { runs: 0 };
  const params = {
    runs: runs.map((r) => r.run_id),
    first: runs[0]!.hour,
    last: runs[runs.length - 1]!.hour,
  };
  for (const table of ['batch_hourly', 'batch_dimensions_hourly']) {
    await ch.command({
      query: `ALTER TABLE ${table} DELETE
        WHERE hour BETWEEN {first:DateTime('UTC')} AND {last:DateTime('UTC')} AND has({runs:Array(UUID)}, run_id)
        -- In the statement: chDB runs clickhouse_settings as SETs that stay on the connection.
        SETTINGS mutations_sync = 1`,
      query_params: params,
    });
  }
  const cleanedAt = toClickHouseTime(Date.now());
  await ch.insert({
    table: 'batch_runs',
    values: runs.map((r) => ({ hour: r.hour, run_id: r.run_id, status: 'cleaned', finished_at: cleanedAt })),
    format: 'JSONEachRow',
  });
  return { runs: runs.length };
}

/** A recompute drops its work tables when it ends; these are the ones of workers that died. */
async function dropAbandonedWorkTables(ch: ClickHouseClient, before: number): Promise<void> {
  const tables = await (
    await ch.query({
      query: `SELECT name FROM system.tables
              WHERE database = currentDatabase() AND match(name, '^batch_work_[0-9a-f]{32}_[a-z]+$')
                AND metadata_modification_time < toDateTime({before:UInt32}, 'UTC')`,
      query_params: { before: toSeconds(before) },
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  // Names come from system.tables and match the pattern above: safe to use as identifiers.
  for (const { name } of tables) await ch.command({ query: `DROP TABLE IF EXISTS ${name}` });
}
