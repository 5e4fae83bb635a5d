import type { QueryReader } from './run.js';
import { runQuery } from './run.js';
import { HOUR_MS } from './time.js';

/**
 * Where the Lambda merge splits (sql/0060): the watermark (epoch ms, 0 while nothing is committed)
 * and the committed run of each hour below it, by the hour's start (epoch ms).
 */
export interface BatchSplit {
  watermark: number;
  runs: ReadonlyMap<number, string>;
}

export async function readBatchSplit(ctx: QueryReader, watermark: number): Promise<BatchSplit> {
  const rows = await runQuery<{ hour: number | string; run_id: string }>(
    ctx,
    `SELECT toUnixTimestamp(hour) AS hour, toString(run_id) AS run_id FROM batch_committed
     WHERE hour < toDateTime({watermark:UInt32}, 'UTC')`,
    { watermark: Math.floor(watermark / 1000) },
  );
  return { watermark, runs: new Map(rows.map((r) => [Number(r.hour) * 1000, r.run_id])) };
}

/** The committed runs of the hours from `first` to `last` (epoch ms, inclusive): a query's argument. */
export function runsBetween(split: BatchSplit, first: number, last: number): string[] {
  const runs: string[] = [];
  for (let hour = Math.floor(first / HOUR_MS) * HOUR_MS; hour <= last; hour += HOUR_MS) {
    const run = split.runs.get(hour);
    if (run) runs.push(run);
  }
  return runs;
}
