import type { QueryReader } from './run.js';
import { runQuery } from './run.js';
import { HOUR_MS } from './time.js';

/**
 * Where the Lambda merge splits (sql/0060): the watermark (epoch ms, 0 while nothing is committed)
 * and the committed run of each hour below it, by the hour's start (epoch ms); and the merge itself,
 * the SELECT of the views hourly_merged_at and dimensions_merged_at as ClickHouse stores them.
 *
 * Why the views' text rather than the views: the API inlines it with its {watermark} and {runs} as
 * the query's own parameters. Read through the parameterised view, a 30-day range's 714 runs as the
 * view's argument cost ClickHouse's analyzer most of the query (one site's hourly series at 10 M
 * events: 63 ms of engine time, 30 ms of it analysis, against 24 ms with the merge in the query).
 * The analysts' views read the same views, so the merge has one definition, in sql/.
 */
export interface BatchSplit {
  watermark: number;
  runs: ReadonlyMap<number, string>;
  merge: Record<'hourly' | 'dimensions', string>;
}

const mergeViews = { hourly: 'hourly_merged_at', dimensions: 'dimensions_merged_at' } as const;

export async function readBatchSplit(ctx: QueryReader, watermark: number): Promise<BatchSplit> {
  const rows = await runQuery<{ hour: number | string; run_id: string }>(
    ctx,
    `SELECT toUnixTimestamp(hour) AS hour, toString(run_id) AS run_id FROM batch_committed
     WHERE hour < toDateTime({watermark:UInt32}, 'UTC')`,
    { watermark: Math.floor(watermark / 1000) },
  );
  const views = await runQuery<{ name: string; as_select: string }>(
    ctx,
    'SELECT name, as_select FROM system.tables WHERE database = currentDatabase() AND name IN {views:Array(String)}',
    { views: Object.values(mergeViews) },
  );
  const text = (view: string) => {
    const found = views.find((v) => v.name === view);
    if (!found) throw new Error(`the view ${view} is missing: apply the migrations (sql/0060)`);
    return found.as_select;
  };
  return {
    watermark,
    runs: new Map(rows.map((r) => [Number(r.hour) * 1000, r.run_id])),
    merge: { hourly: text(mergeViews.hourly), dimensions: text(mergeViews.dimensions) },
  };
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
