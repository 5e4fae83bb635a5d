import type { Filter } from './filters.js';
import type { Metric } from './metrics.js';
import { joinedPartsSql, partParams, planParts, readMetrics } from './parts.js';
import type { QueryContext } from './run.js';
import type { UnitRange } from './time.js';

export interface AggregateQuery {
  siteId: string;
  metrics: Metric[];
  /** The UTC hours the range covers. */
  units: UnitRange;
  filters: Filter[];
}

/** One site's totals over a range of hours: visitors merged over the whole range, never added up. */
export async function queryAggregate(ctx: QueryContext, q: AggregateQuery): Promise<Record<Metric, number>> {
  const params: Record<string, unknown> = {
    ...partParams(ctx, q.units.first, q.units.last),
    first: q.units.first / 1000,
    last: q.units.last / 1000,
  };
  const parts = planParts(q.metrics, q.filters, params);
  const lo = "toDateTime({first:UInt32}, 'UTC')";
  const hi = "toDateTime({last:UInt32}, 'UTC')";
  // One row per site (none for a site without rows, which reads as zeros).
  const [row] = await ctx.reads.read(
    `SELECT * FROM ${joinedPartsSql(ctx.split, parts, lo, hi)}`,
    params,
    q.siteId,
  );
  return readMetrics(row ?? {}, q.metrics);
}
