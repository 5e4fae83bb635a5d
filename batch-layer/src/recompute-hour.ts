import { randomUUID } from 'node:crypto';
import { type ClickHouseClient, toClickHouseTime } from '@sightline/core';

/**
 * Bumped whenever the recompute would give different numbers for the same events_raw (a fixed bug,
 * a new rule). Every output row and run records it; reprocessing a range with the new version is
 * how a bug in the numbers is fixed.
 */
export const LOGIC_VERSION = 1;

/** A visit ends after 30 minutes without an event from the same visitor. */
const SESSION_GAP_SECONDS = 1800;
/** Sessions are followed this far past the hour, so a visit that started in it is measured whole. */
const LOOKAHEAD_HOURS = 2;

export interface RecomputeResult {
  hour: string;
  runId: string;
  inputRows: number;
  outputRows: number;
  durationMs: number;
}

/**
 * The events of the window, each once (the earliest delivery of an event_id), bots left out. The
 * window starts 30 minutes before the hour so a visit already going on at the hour's start is not
 * counted again, and runs past the hour so the visits that start in it are measured whole.
 */
const sessionized = `
  deduped AS (
    SELECT site_id, visitor_id, ts, name, pathname, interactive, revenue_amount,
      referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
      country, browser, os, device, props
    FROM events_raw
    WHERE ts >= {hour:DateTime('UTC')} - INTERVAL ${SESSION_GAP_SECONDS} SECOND
      AND ts < {hour:DateTime('UTC')} + INTERVAL ${1 + LOOKAHEAD_HOURS} HOUR
      AND NOT is_bot
    ORDER BY received_at
    LIMIT 1 BY event_id
  ),
  starts AS (
    SELECT *,
      dateDiff('second', lagInFrame(ts, 1, toDateTime64(0, 3, 'UTC')) OVER w, ts) > ${SESSION_GAP_SECONDS} AS is_start
    FROM deduped
    WINDOW w AS (PARTITION BY site_id, visitor_id ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  ),
  numbered AS (
    SELECT *, sum(is_start) OVER (PARTITION BY site_id, visitor_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM starts
  ),
  -- A visit belongs to the hour it starts in. Non-interactive events (scroll depth, video
  -- progress) do not turn a bounce into an engaged visit.
  sessions AS (
    SELECT site_id, visitor_id, session_no,
      min(ts) AS started, max(ts) AS ended,
      countIf(interactive) AS interactions,
      argMinIf(pathname, ts, name = 'pageview') AS entry_page,
      argMaxIf(pathname, ts, name = 'pageview') AS exit_page,
      argMin(referrer_source, ts) AS entry_source,
      argMin(channel, ts) AS entry_channel
    FROM numbered
    GROUP BY site_id, visitor_id, session_no
    HAVING started >= {hour:DateTime('UTC')} AND started < {hour:DateTime('UTC')} + INTERVAL 1 HOUR
  ),
  in_hour AS (
    SELECT * FROM deduped WHERE ts >= {hour:DateTime('UTC')} AND ts < {hour:DateTime('UTC')} + INTERVAL 1 HOUR
  )`;

const hourlySql = `
  INSERT INTO batch_hourly
  WITH ${sessionized},
  visit_totals AS (
    SELECT site_id, count() AS visits, countIf(interactions <= 1) AS bounces,
      sum(toUInt64(dateDiff('second', started, ended))) AS duration
    FROM sessions GROUP BY site_id
  )
  SELECT e.site_id, {hour:DateTime('UTC')}, {run:UUID}, {logic:UInt16},
    countIf(e.name = 'pageview'), count(), uniqExact(e.visitor_id), uniqCombined64State(e.visitor_id),
    any(v.visits), any(v.bounces), any(v.duration),
    uniqExactIf(e.visitor_id, e.name != 'pageview' AND e.interactive),
    toDecimal128(sum(ifNull(e.revenue_amount, 0)), 4)
  FROM in_hour AS e LEFT JOIN visit_totals AS v ON v.site_id = e.site_id
  GROUP BY e.site_id`;

/** The same dimensions as the speed layer; entry and exit pages and sources come from visits. */
const dimensionsSql = `
  INSERT INTO batch_dimensions_hourly
  WITH ${sessionized},
  event_dims AS (
    SELECT site_id, visitor_id, name, revenue_amount, interactive, dim.1 AS dimension, dim.2 AS value
    FROM in_hour
    ARRAY JOIN arrayConcat(
      [('page', pathname), ('referrer_source', referrer_source), ('channel', channel),
       ('utm_source', utm_source), ('utm_medium', utm_medium), ('utm_campaign', utm_campaign),
       ('utm_content', utm_content), ('utm_term', utm_term), ('country', country),
       ('browser', browser), ('os', os), ('device', device), ('event_name', name)],
      arrayMap((k, v) -> (concat('prop:', k), v), mapKeys(props), mapValues(props))
    ) AS dim
  ),
  visit_dims AS (
    SELECT site_id, dim.1 AS dimension, dim.2 AS value, count() AS visits, countIf(interactions <= 1) AS bounces
    FROM sessions
    ARRAY JOIN [('entry_page', entry_page), ('exit_page', exit_page)] AS dim
    GROUP BY site_id, dimension, value
  )
  SELECT site_id, {hour:DateTime('UTC')}, {run:UUID}, dimension, value,
    sum(pageviews), sum(events), sum(visitors), uniqCombined64MergeState(visitors_state),
    sum(visits), sum(bounces), sum(revenue)
  FROM (
    SELECT site_id, dimension, value, countIf(name = 'pageview') AS pageviews, count() AS events,
      uniqExact(visitor_id) AS visitors, uniqCombined64State(visitor_id) AS visitors_state,
      toUInt64(0) AS visits, toUInt64(0) AS bounces, toDecimal128(sum(ifNull(revenue_amount, 0)), 4) AS revenue
    FROM event_dims GROUP BY site_id, dimension, value
    UNION ALL
    SELECT site_id, dimension, value, 0, 0, 0, arrayReduce('uniqCombined64State', emptyArrayUInt64()),
      visits, bounces, toDecimal128(0, 4)
    FROM visit_dims
  )
  GROUP BY site_id, dimension, value`;

/**
 * Recomputes one hour for every site into a new run, then commits it with one insert into
 * batch_commits: readers switch from the previous run to this one at that instant.
 */
export async function recomputeHour(
  ch: ClickHouseClient,
  hour: Date,
  options: { reason: string; logicVersion?: number },
): Promise<RecomputeResult> {
  const started = Date.now();
  const runId = randomUUID();
  const logic = options.logicVersion ?? LOGIC_VERSION;
  const hourParam = hour.toISOString().slice(0, 19).replace('T', ' ');
  const params = { hour: hourParam, run: runId, logic };
  try {
    await ch.command({ query: hourlySql, query_params: params });
    await ch.command({ query: dimensionsSql, query_params: params });
    const [counts] = await (
      await ch.query({
        query: `SELECT
          (SELECT count() FROM events_raw WHERE ts >= {hour:DateTime('UTC')} AND ts < {hour:DateTime('UTC')} + INTERVAL 1 HOUR) AS input,
          (SELECT count() FROM batch_hourly WHERE hour = {hour:DateTime('UTC')} AND run_id = {run:UUID})
          + (SELECT count() FROM batch_dimensions_hourly WHERE hour = {hour:DateTime('UTC')} AND run_id = {run:UUID}) AS output`,
        query_params: params,
        format: 'JSONEachRow',
      })
    ).json<{ input: number; output: number }>();
    await ch.insert({
      table: 'batch_commits',
      values: [
        { hour: hourParam, run_id: runId, logic_version: logic, committed_at: toClickHouseTime(Date.now()) },
      ],
      format: 'JSONEachRow',
    });
    const result = {
      hour: hour.toISOString(),
      runId,
      inputRows: Number(counts!.input),
      outputRows: Number(counts!.output),
      durationMs: Date.now() - started,
    };
    await recordRun(ch, params, options.reason, 'committed', result, '');
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await recordRun(
      ch,
      params,
      options.reason,
      'failed',
      { inputRows: 0, outputRows: 0, durationMs: Date.now() - started },
      message,
    ).catch(() => {});
    throw error;
  }
}

async function recordRun(
  ch: ClickHouseClient,
  params: { hour: string; run: string; logic: number },
  reason: string,
  status: 'committed' | 'failed',
  result: Pick<RecomputeResult, 'inputRows' | 'outputRows' | 'durationMs'>,
  error: string,
): Promise<void> {
  await ch.insert({
    table: 'batch_runs',
    values: [
      {
        hour: params.hour,
        run_id: params.run,
        logic_version: params.logic,
        reason,
        status,
        input_rows: result.inputRows,
        output_rows: result.outputRows,
        duration_ms: result.durationMs,
        error,
        finished_at: toClickHouseTime(Date.now()),
      },
    ],
    format: 'JSONEachRow',
  });
}
