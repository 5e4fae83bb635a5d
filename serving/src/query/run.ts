import type { ClickHouseClient } from '@sightline/core';
import { QueryError } from './errors.js';

export interface QueryContext {
  ch: ClickHouseClient;
  /** ClickHouse's max_execution_time for each query, in seconds. */
  timeoutSeconds: number;
}

interface ClickHouseErrorLike {
  code?: string;
  type?: string;
  message?: string;
}

/**
 * Runs one read with the serving time limit. The limit is set on every query, not once on the
 * connection: a chDB connection keeps the settings of its last query for the next one.
 * ClickHouse's own refusals that the caller caused become 4xx; a query over the time limit
 * becomes a 503 with Retry-After, so a slow ClickHouse sheds load instead of holding requests.
 */
export async function runQuery<T>(
  ctx: QueryContext,
  query: string,
  params: Record<string, unknown>,
): Promise<T[]> {
  try {
    const result = await ctx.ch.query({
      query,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: { max_execution_time: ctx.timeoutSeconds, timeout_overflow_mode: 'throw' },
    });
    return await result.json<T>();
  } catch (error) {
    const e = error as ClickHouseErrorLike;
    if (e.type === 'TIMEOUT_EXCEEDED' || e.code === '159') {
      throw new QueryError(
        503,
        'unavailable',
        `the query took longer than ${ctx.timeoutSeconds} s; try again shortly or ask for a shorter range`,
        [],
        5,
      );
    }
    if (e.type === 'CANNOT_COMPILE_REGEXP' || e.code === '427') {
      throw new QueryError(
        400,
        'invalid_filter',
        'filters: a `matches` pattern is not a valid RE2 regular expression',
        [{ path: 'filters', message: String(e.message ?? '').split('. Look at')[0] ?? '' }],
      );
    }
    throw error;
  }
}
