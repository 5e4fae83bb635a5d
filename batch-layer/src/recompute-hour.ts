import { randomUUID } from 'node:crypto';
import { type ClickHouseClient, toClickHouseTime } from '@sightline/core';
import type { Channel } from '@sightline/ingest';

/**
 * Bumped whenever the recompute would give different numbers for the same events_raw (a fixed bug,
 * a new rule). Every output row and run records it; reprocessing a range with the new version is
 * how a bug in the numbers is fixed.
 *
 * 2: goals (a `goal` dimension; `conversions` counts the visitors who reached a goal), acquisition
 *    dimensions (referrer_source, channel, utm_*) from the visit's entry, '' UTM and prop values
 *    left out as in the speed layer.
 */
export const LOGIC_VERSION = 2;

/**
 * The rules of a recompute and the version that names them. The service runs `currentLogic`; a
 * variant with another version is how a test (or a staged rollout) shows what a change moves.
 */
export interface BatchLogic {
  version: number;
  /** A visit ends after this long without an event from the same visitor. */
  sessionGapSeconds: number;
}

export const currentLogic: BatchLogic = { version: LOGIC_VERSION, sessionGapSeconds: 1800 };

/** Sessions are followed this far past the hour, so a visit that started in it is measured whole. */
const LOOKAHEAD_HOURS = 2;

export interface RecomputeResult {
  hour: string;
  runId: string;
  logicVersion: number;
  /** The sites recomputed; empty for all of them. */
  sites: string[];
  inputRows: number;
  outputRows: number;
  durationMs: number;
}

/**
 * A recompute materialises its input once, in work tables of its own run (dropped at its end, and
 * by the cleanup job if a worker died): the events of the window deduplicated, each visitor's
 * totals, and the visits that start in the hour. The inserts below read them instead of scanning and
 * deduplicating events_raw again each.
 */
const workTables = (runId: string) => {
  const base = `batch_work_${runId.replaceAll('-', '')}`;
  return {
    events: `${base}_events`,
    duplicates: `${base}_duplicates`,
    redelivered: `${base}_redelivered`,
    continuing: `${base}_continuing`,
    visitors: `${base}_visitors`,
    sessions: `${base}_sessions`,
  };
};
type WorkTables = ReturnType<typeof workTables>;

const lowCardinality = 'LowCardinality(String)';
/** What the recompute reads of an event: every column of events_raw it uses, and no other. */
const workEventColumns: [name: string, type: string][] = [
  ['event_id', 'UUID'],
  ['site_id', lowCardinality],
  ['visitor_id', 'UInt64'],
  ['ts', "DateTime64(3, 'UTC')"],
  ['name', lowCardinality],
  ['pathname', 'String'],
  ['interactive', 'Bool'],
  ['revenue_amount', 'Nullable(Decimal(18, 4))'],
  ...['referrer_source', 'channel', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term']
    .concat(['country', 'browser', 'os', 'device'])
    .map((name): [string, string] => [name, lowCardinality]),
  ['props', `Map(${lowCardinality}, String)`],
];
const workEventNames = workEventColumns.map(([name]) => name).join(', ');
const workEventSchema = workEventColumns.map(([name, type]) => `${name} ${type}`).join(', ');

/** A visit's acquisition: the fields of its first event, by the sessions' column that holds each. */
const acquisitionColumns: [field: string, column: string][] = [
  ['referrer_source', 'entry_source'],
  ['channel', 'entry_channel'],
  ...['source', 'medium', 'campaign', 'content', 'term'].map((utm): [string, string] => [
    `utm_${utm}`,
    `entry_utm_${utm}`,
  ]),
];

/**
 * The acquisition of an event without a referrer or UTM tags (ingest's classifyAcquisition), by
 * field: about three events in four on the bench hour.
 */
const directChannel: Channel = 'direct';
const directAcquisition = (field: string) => (field === 'channel' ? directChannel : '');

/**
 * An event's acquisition fields as one string, each in hex between colons (a separator no value can
 * hold, where utm_* values can hold any byte), decoded for the visits only: seven strings per
 * event through the visits' arrays cost about a fifth of their CPU on an hour of 10 million events.
 * Direct traffic, most events, is '' (a hex string always holds colons): building its string cost
 * about another 0.6 s of CPU on that hour.
 */
const acquisitionString = `if(${acquisitionColumns.map(([field]) => `${field} = '${directAcquisition(field)}'`).join(' AND ')},
  '', concat(${acquisitionColumns.map(([field]) => `hex(${field})`).join(", ':', ")}))`;

/** Bots left out; only the sites asked for (all when {sites} is empty). */
const scope = `NOT is_bot AND (empty({sites:Array(String)}) OR has({sites:Array(String)}, site_id))`;

const hourEnd = `{hour:DateTime('UTC')} + INTERVAL 1 HOUR`;

/**
 * The window: one session gap before the hour, so a visit already going on at the hour's start is
 * not counted again, to a few hours past it, so the visits that start in it are measured whole.
 */
const windowFilter = `
  ts >= {hour:DateTime('UTC')} - toIntervalSecond({gap:UInt32})
  AND ts < {hour:DateTime('UTC')} + INTERVAL ${1 + LOOKAHEAD_HOURS} HOUR
  AND ${scope}`;

/**
 * Each event once: the earliest delivery of an event_id. Duplicates are a few percent, so only
 * their ids are collected, with the time of their first delivery, and one scan keeps every other
 * row and each duplicate's first delivery. A first delivery stored twice (the same message written
 * again, to the millisecond) is rarer still: those ids alone are read apart, one row each. Only an
 * id with two copies of the same time, or more than two copies, can be one (`recheck`), so the
 * window is read again only when such an id exists (an IN over an empty set reads nothing): a
 * client's retry has a later time. The work tables are Memory tables: nothing reads them in key
 * order, so a MergeTree's sort on insert would be wasted.
 *
 * After the hour, only the visitors still active in its last session gap (a minute more, for the
 * rounding of dateDiff to seconds) are kept: nobody else has a visit that started in the hour and
 * goes on past it, and in steady traffic the two hours of look-ahead are most of the window. They
 * are known by visitor id alone (0.25 s of CPU instead of 0.75 s with the site, on the bench
 * hour): the same id on another site only keeps that visitor's later events too, whose visits start
 * after the hour and are left out like any other.
 */
const workSql = (t: WorkTables) => {
  const kept = `(ts < ${hourEnd} OR visitor_id IN ${t.continuing})`;
  const firstDeliveries = `SELECT event_id, first_received FROM ${t.duplicates}`;
  return {
    tables: [
      `CREATE TABLE ${t.events} (${workEventSchema}) ENGINE = Memory`,
      `CREATE TABLE ${t.duplicates} (event_id UUID, first_received DateTime64(3, 'UTC'), recheck Bool) ENGINE = Memory`,
      `CREATE TABLE ${t.redelivered} (event_id UUID) ENGINE = Memory`,
      `CREATE TABLE ${t.continuing} (visitor_id UInt64) ENGINE = Memory`,
    ],
    duplicates: `INSERT INTO ${t.duplicates}
     SELECT event_id, min(received_at), count() > 2 OR min(received_at) = max(received_at) FROM events_raw
     WHERE ${windowFilter} GROUP BY event_id HAVING count() > 1`,
    continuing: `INSERT INTO ${t.continuing} SELECT DISTINCT visitor_id FROM events_raw
     WHERE ts >= ${hourEnd} - toIntervalSecond({gap:UInt32} + 60) AND ts < ${hourEnd} AND ${scope}`,
    redelivered: `INSERT INTO ${t.redelivered} SELECT event_id FROM events_raw
     WHERE ${windowFilter} AND (event_id, received_at) IN (${firstDeliveries} WHERE recheck)
     GROUP BY event_id HAVING count() > 1`,
    events: `INSERT INTO ${t.events}
     SELECT ${workEventNames} FROM events_raw
     WHERE ${windowFilter} AND ${kept} AND event_id NOT IN ${t.redelivered}
       AND (event_id NOT IN (SELECT event_id FROM ${t.duplicates}) OR (event_id, received_at) IN (${firstDeliveries}))
     UNION ALL
     SELECT * FROM (
       SELECT ${workEventNames} FROM events_raw
       WHERE ${windowFilter} AND event_id IN ${t.redelivered} AND (event_id, received_at) IN (${firstDeliveries})
       LIMIT 1 BY event_id
     )
     WHERE ${kept}
     -- Each IN above only for the rows that reach it (the look-ahead's rows for the visitors still
     -- active, the duplicates' ids for their first delivery): ClickHouse otherwise evaluates every
     -- argument of OR and AND on every row, a set lookup per row of the window, more than half of
     -- this statement's time on an hour of 10 million events. And no IN here narrows the read by
     -- events_raw's primary key: visitor_id is in it, so ClickHouse would match the look-ahead's set
     -- (hundreds of thousands of visitors) against the index's marks first, on one thread: 2.4 s of
     -- wall time for this statement on that hour instead of 1.1 s.
     SETTINGS short_circuit_function_evaluation = 'force_enable', use_index_for_in_with_subqueries = 0`,
    // A visit ends after a session gap without an event from its visitor; it belongs to the hour it
    // starts in, with everything it contains (its pageviews after the hour too). Non-interactive
    // events (scroll depth, video progress) do not turn a bounce into an engaged visit.
    // Acquisition is the visit's first event's (acquisitionString).
    //
    // A visitor whose events in the window span no more than the gap made one visit, measured by
    // plain aggregates per visitor: 95 % of the visitors and 89 % of the events on the bench's hour
    // of 10 million events. Only the others' events go through arrays in time order, split where
    // the time since the previous event exceeds the gap (window functions sort every row of the
    // window, on one core). The split alone, for every visitor, took 5.4-6.1 s of CPU on that
    // hour; the two steps 3.6 s, with the same visits. `sole`: the visitor's only visit in the
    // window.
    visitors: `CREATE TABLE ${t.visitors} ENGINE = Memory AS
   SELECT site_id, visitor_id, min(ts) AS started, max(ts) AS ended,
     countIf(interactive) AS interactions, countIf(name = 'pageview') AS pageviews, count() AS events,
     sum(ifNull(revenue_amount, 0)) AS revenue,
     argMinIf(pathname, ts, name = 'pageview') AS entry_page,
     argMaxIf(pathname, ts, name = 'pageview') AS exit_page,
     argMin(${acquisitionString}, ts) AS acquisition,
     dateDiff('second', started, ended) > {gap:UInt32} AS split
   FROM ${t.events}
   GROUP BY site_id, visitor_id`,
    sessions: `CREATE TABLE ${t.sessions} ENGINE = Memory AS
   SELECT site_id, visitor_id, sole, started, ended, interactions, pageviews, events, revenue, entry_page, exit_page,
     ${acquisitionColumns
       .map(
         ([field, column], i) =>
           `if(acquisition = '', '${directAcquisition(field)}', unhex(splitByChar(':', acquisition)[${i + 1}])) AS ${column}`,
       )
       .join(',\n     ')}
   FROM (
     SELECT site_id, visitor_id, true AS sole, started, ended, interactions, pageviews, events, revenue,
       entry_page, exit_page, acquisition
     FROM ${t.visitors} WHERE NOT split
     UNION ALL
     SELECT site_id, visitor_id, false AS sole,
       visit[1].time AS started, visit[-1].time AS ended,
       arrayCount(e -> e.interactive, visit) AS interactions,
       arrayCount(e -> e.pageview, visit) AS pageviews, length(visit) AS events,
       arraySum(e -> e.revenue, visit) AS revenue,
       arrayFirst(e -> e.pageview, visit).path AS entry_page,
       arrayLast(e -> e.pageview, visit).path AS exit_page,
       visit[1].acquisition AS acquisition
     FROM (
       SELECT site_id, visitor_id,
         arraySort(e -> e.time, groupArray(CAST(
           (ts, name = 'pageview', interactive, pathname, ifNull(revenue_amount, 0), ${acquisitionString}),
           'Tuple(time DateTime64(3, \\'UTC\\'), pageview Bool, interactive Bool, path String,
             revenue Decimal(18, 4), acquisition String)'))) AS timeline
       FROM ${t.events}
       WHERE (site_id, visitor_id) IN (SELECT site_id, visitor_id FROM ${t.visitors} WHERE split)
       GROUP BY site_id, visitor_id
     )
     ARRAY JOIN arraySplit(
       (e, previous) -> dateDiff('second', previous, e.time) > {gap:UInt32},
       timeline, arrayPushFront(arrayPopBack(timeline.time), toDateTime64(0, 3, 'UTC'))) AS visit
   )
   WHERE started >= {hour:DateTime('UTC')} AND started < ${hourEnd}`,
  };
};

/** The events of the hour. */
const hourEvents = (t: WorkTables) => `
  hour_events AS (
    SELECT * FROM ${t.events} WHERE ts >= {hour:DateTime('UTC')} AND ts < ${hourEnd}
  )`;

/**
 * The events of the hour of the sites that have goals, with the names of the goals each one
 * reached: the other sites' events are never matched against goals (an inner join, where a left
 * join matched every event of the hour against an empty list).
 */
const goalEvents = (t: WorkTables) => `${hourEvents(t)},
  -- Each site's goals: a custom event by name, or a pageview whose path matches the goal's pattern.
  goal_defs AS (
    SELECT site_id, groupArray((name, event_name, page_regex)) AS defs
    FROM site_goals FINAL
    WHERE NOT deleted
    GROUP BY site_id
  ),
  goal_events AS (
    SELECT d.*,
      arrayMap(goal -> goal.1, arrayFilter(
        goal -> (goal.2 != '' AND d.name = goal.2)
          OR (goal.3 != '' AND d.name = 'pageview' AND match(d.pathname, goal.3)),
        gd.defs)) AS goals
    FROM hour_events AS d INNER JOIN goal_defs AS gd ON gd.site_id = d.site_id
  )`;

const hourlyColumns = `site_id, hour, run_id, logic_version, pageviews, events, visitors, visitors_state,
  visits, bounces, visit_duration_seconds, conversions, revenue`;

/**
 * Each site's events are counted first, and its visits and conversions joined to that one row:
 * joined to every event, they cost a lookup per event (0.74-0.83 s of CPU for this statement on
 * an hour of 10 million events, 0.45-0.48 s this way). Conversions: the visitors who reached at
 * least one of the site's goals in the hour.
 */
const hourlySql = (t: WorkTables) => `
  INSERT INTO batch_hourly (${hourlyColumns})
  WITH ${goalEvents(t)},
  event_totals AS (
    SELECT site_id, countIf(name = 'pageview') AS pageviews, count() AS events,
      uniqExact(visitor_id) AS visitors, uniqCombined64State(visitor_id) AS visitors_state,
      toDecimal128(sum(ifNull(revenue_amount, 0)), 4) AS revenue
    FROM hour_events GROUP BY site_id
  ),
  visit_totals AS (
    SELECT site_id, count() AS visits, countIf(interactions <= 1) AS bounces,
      sum(toUInt64(dateDiff('second', started, ended))) AS duration
    FROM ${t.sessions} GROUP BY site_id
  ),
  conversions AS (
    SELECT site_id, uniqExact(visitor_id) AS visitors FROM goal_events WHERE notEmpty(goals) GROUP BY site_id
  )
  SELECT e.site_id, {hour:DateTime('UTC')}, {run:UUID}, {logic:UInt16},
    e.pageviews, e.events, e.visitors, e.visitors_state, v.visits, v.bounces, v.duration, c.visitors, e.revenue
  FROM event_totals AS e
  LEFT JOIN visit_totals AS v ON v.site_id = e.site_id
  LEFT JOIN conversions AS c ON c.site_id = e.site_id`;

const dimensionColumns = `site_id, hour, run_id, logic_version, dimension, value, pageviews, events, visitors,
  visitors_state, visits, bounces, revenue`;

/** The run's columns of every output row after its site: the hour, the run and the logic version. */
const runColumns = `{hour:DateTime('UTC')}, {run:UUID}, {logic:UInt16}`;
/** The run's key columns of every output row. */
const runKey = `site_id, ${runColumns}`;

/** A dimension value's numbers, by output column (after the run key, the dimension and the value). */
type Aggregates = [column: string, expression: string][];
const listed = (aggregates: Aggregates) => aggregates.map(([, expression]) => expression).join(', ');

/** A dimension value's numbers over the events that have it (visits and bounces are per visit). */
const eventAggregates: Aggregates = [
  ['pageviews', `countIf(name = 'pageview')`],
  ['events', 'count()'],
  ['visitors', 'uniqExact(visitor_id)'],
  ['visitors_state', 'uniqCombined64State(visitor_id)'],
  ['visits', '0'],
  ['bounces', '0'],
  ['revenue', 'toDecimal128(sum(ifNull(revenue_amount, 0)), 4)'],
];

/**
 * A dimension value's numbers over the visits that have it: their pageviews, events and revenue. A
 * visit that is its visitor's only one in the window (`sole`) is counted as a visitor without a
 * hash set: no other visit can hold that visitor. 0.7 s of CPU less for the visit dimensions on an
 * hour of 10 million events (2.6-2.7 s instead of 3.2-3.4).
 */
const visitAggregates: Aggregates = [
  ['pageviews', 'sum(pageviews)'],
  ['events', 'sum(events)'],
  ['visitors', 'countIf(sole) + uniqExactIf(visitor_id, NOT sole)'],
  ['visitors_state', 'uniqCombined64State(visitor_id)'],
  ['visits', 'count()'],
  ['bounces', 'countIf(interactions <= 1)'],
  ['revenue', 'toDecimal128(sum(revenue), 4)'],
];

/** A dimension that is one column: [dimension, column, whether an empty value is a value of it]. */
type ColumnDimension = [dimension: string, column: string, keepsEmpty: boolean];

const eventDimensions: ColumnDimension[] = [
  ['page', 'pathname', true],
  ['event_name', 'name', true],
  ['country', 'country', true],
  ['browser', 'browser', true],
  ['os', 'os', true],
  ['device', 'device', true],
];

/**
 * Per visit: its entry and exit pages and its acquisition, each field a dimension of its own name
 * ('' for direct traffic is a source).
 */
const visitDimensions: ColumnDimension[] = [
  ['entry_page', 'entry_page', false],
  ['exit_page', 'exit_page', false],
  ...acquisitionColumns.map(
    ([field, column]): ColumnDimension => [field, column, field === 'referrer_source'],
  ),
];

/**
 * One GROUP BY per dimension, on its own column, keyed by one string: the site id, a NUL (never in a
 * site id: core's siteIdSchema) and the value. Grouping by the two columns themselves makes
 * ClickHouse serialize both into every row's key, which cost over half of the dimensions' time on
 * an hour of 10 million events; one string key is hashed as it is. One GROUP BY per column was
 * itself about a quarter cheaper than one over a row per event (or visit) and dimension built with
 * ARRAY JOIN.
 */
const byColumn = (source: string, aggregates: Aggregates, dimensions: ColumnDimension[]) =>
  dimensions.map(
    ([dimension, column, keepsEmpty]) => `
  SELECT substring(key, 1, position(key, '\\0') - 1) AS site_id, ${runColumns},
    '${dimension}', substring(key, position(key, '\\0') + 1), ${aggregates.map(([name]) => `agg_${name}`).join(', ')}
  FROM (
    SELECT concat(site_id, '\\0', ${column}) AS key,
      ${aggregates.map(([name, expression]) => `${expression} AS agg_${name}`).join(', ')}
    FROM ${source} ${keepsEmpty ? '' : `WHERE ${column} != ''`} GROUP BY key
  )`,
  );

/**
 * Each GROUP BY of the event dimensions insert hands its rows on as one block (a single-level hash
 * table, blocks of up to a million rows) instead of a two-level table's 256 and more: on an hour
 * of 10 million events the statement took 7.8 s of CPU instead of 8.3-8.6 s, run alone. The insert
 * still squashes the blocks into one part: writing them unsquashed took 6.4-6.8 s, but as seven
 * parts per run for background merges to join, and bench:batch was no faster with it (15.54 and
 * 12.97 s against 13.01 and 12.49 s).
 */
const dimensionBlocks = `SETTINGS max_block_size = 1000000, group_by_two_level_threshold = 0,
  group_by_two_level_threshold_bytes = 0`;

/**
 * The speed layer's dimensions, with its rules for empty values, plus goals and exit pages, in two
 * inserts that run at once (see recomputeHour). Per event: page, event_name, country, browser, os,
 * device, prop:<key>, goal (the goal's name; its `events` are the conversions, `visitors` the
 * visitors who converted).
 */
const eventDimensionsSql = (t: WorkTables) => `
  INSERT INTO batch_dimensions_hourly (${dimensionColumns})
  WITH ${goalEvents(t)}
  ${[
    ...byColumn('hour_events', eventAggregates, eventDimensions),
    `
  SELECT ${runKey}, concat('prop:', key), value, ${listed(eventAggregates)}
  FROM hour_events ARRAY JOIN mapKeys(props) AS key, mapValues(props) AS value
  WHERE value != '' GROUP BY site_id, key, value`,
    `
  SELECT ${runKey}, 'goal', goal, ${listed(eventAggregates)}
  FROM goal_events ARRAY JOIN goals AS goal GROUP BY site_id, goal`,
  ].join('\n  UNION ALL')}
  ${dimensionBlocks}`;

/**
 * Per visit, in the hour it started: entry_page, exit_page, referrer_source, channel, utm_*
 * (pageviews, events and revenue are the visit's).
 */
const visitDimensionsSql = (t: WorkTables) => `
  INSERT INTO batch_dimensions_hourly (${dimensionColumns})
  ${byColumn(t.sessions, visitAggregates, visitDimensions).join('\n  UNION ALL')}`;

/**
 * A run for some sites only still commits the whole hour: the other sites' rows of the committed
 * run are copied into the new run first, unchanged (their logic version too), and then the one
 * insert into batch_commits switches readers over. This keeps the commit atomic per hour with the
 * same single-row switch as a full run, at the cost of copying rollup rows (a few per site), never
 * raw events.
 */
const copyOthers = (table: string) => `
  INSERT INTO ${table}
  SELECT * REPLACE ({run:UUID} AS run_id)
  -- A subquery: in one SELECT the replaced run_id would be what WHERE compares.
  FROM (
    SELECT * FROM ${table}
    WHERE hour = {hour:DateTime('UTC')} AND run_id = {previous:UUID} AND NOT has({sites:Array(String)}, site_id)
  )`;

/**
 * Waits for every one of the statements, then fails with the first error: none may still be
 * writing rows of the run when it is recorded as failed and its tables are dropped.
 */
async function together(...statements: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(statements)).find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
}

async function committedRun(ch: ClickHouseClient, hour: string): Promise<string | undefined> {
  const [row] = await (
    await ch.query({
      query: `SELECT toString(run_id) AS run_id FROM batch_committed WHERE hour = {hour:DateTime('UTC')}`,
      query_params: { hour },
      format: 'JSONEachRow',
    })
  ).json<{ run_id: string }>();
  return row?.run_id;
}

export interface RecomputeOptions {
  reason: string;
  /** Recompute only these sites; the others keep their committed numbers. Default: every site. */
  sites?: string[] | undefined;
  logic?: BatchLogic | undefined;
  /**
   * A second connection, for the statements that run beside the others (a chDB connection runs
   * one query at a time). Default: `ch` itself, which over HTTP runs them at once anyway.
   */
  alongside?: ClickHouseClient | undefined;
}

/**
 * Recomputes one hour into a new run, then commits it with one insert into batch_commits: readers
 * switch from the previous run to this one at that instant. The run is recorded in batch_runs when
 * it starts (so cleanup never deletes a run still being written) and when it ends.
 *
 * With `sites`, only those sites are recomputed and the rest of the committed run is carried over.
 * An hour never committed is recomputed for every site whatever `sites` says: committing it for a
 * few sites would move the watermark over the others' missing numbers. Two runs of the same hour
 * never overlap: the worker holds a lock per hour in Redis while it runs one (batch-layer.ts), since
 * a site-scoped run carries over the sites of the run committed when it started.
 */
export async function recomputeHour(
  ch: ClickHouseClient,
  hour: Date,
  options: RecomputeOptions,
): Promise<RecomputeResult> {
  const started = Date.now();
  const runId = randomUUID();
  const logic = options.logic ?? currentLogic;
  const alongside = options.alongside ?? ch;
  const hourParam = toClickHouseTime(hour.getTime()).slice(0, 19);
  const previous = options.sites?.length ? await committedRun(ch, hourParam) : undefined;
  const sites = previous ? [...new Set(options.sites)].sort() : [];
  const params = {
    hour: hourParam,
    run: runId,
    logic: logic.version,
    gap: logic.sessionGapSeconds,
    sites,
    previous: previous ?? runId,
  };
  const run = { ...params, reason: options.reason };
  await recordRun(ch, run, 'started', { inputRows: 0, outputRows: 0, durationMs: 0 }, '');
  let committed = false;
  const work = workTables(runId);
  try {
    // Statements meant to run at once on two connections carry their parameters as every embedded
    // statement does, written into the text (core's inlineParams): chDB runs bound ones one at a time.
    const execute = (client: ClickHouseClient, query: string) =>
      client.command({ query, query_params: params }).then(() => {});
    const w = workSql(work);
    for (const query of w.tables) await execute(ch, query);
    await together(execute(ch, w.duplicates), execute(alongside, w.continuing));
    await execute(ch, w.redelivered);
    await execute(ch, w.events);
    // The event dimensions need only the events; the visits, their dimensions and the hourly
    // rows run beside them. Each insert ends on one core (it joins its blocks, with their
    // sketches, into one part and writes it), so two at once keep both cores busy.
    const sessions = execute(ch, w.visitors).then(() => execute(ch, w.sessions));
    await together(
      sessions,
      (async () => {
        await execute(alongside, eventDimensionsSql(work));
        await sessions;
        await execute(alongside, hourlySql(work));
      })(),
      (async () => {
        await sessions;
        await execute(ch, visitDimensionsSql(work));
      })(),
    );
    if (previous) {
      await execute(ch, copyOthers('batch_hourly'));
      await execute(ch, copyOthers('batch_dimensions_hourly'));
    }
    const [counts] = await (
      await ch.query({
        query: `SELECT
          (SELECT count() FROM events_raw WHERE ts >= {hour:DateTime('UTC')} AND ts < {hour:DateTime('UTC')} + INTERVAL 1 HOUR
             AND (empty({sites:Array(String)}) OR has({sites:Array(String)}, site_id))) AS input,
          (SELECT count() FROM batch_hourly WHERE hour = {hour:DateTime('UTC')} AND run_id = {run:UUID})
          + (SELECT count() FROM batch_dimensions_hourly WHERE hour = {hour:DateTime('UTC')} AND run_id = {run:UUID}) AS output`,
        query_params: params,
        format: 'JSONEachRow',
      })
    ).json<{ input: number; output: number }>();
    await ch.insert({
      table: 'batch_commits',
      values: [
        {
          hour: hourParam,
          run_id: runId,
          logic_version: logic.version,
          committed_at: toClickHouseTime(Date.now()),
        },
      ],
      format: 'JSONEachRow',
    });
    committed = true;
    const result: RecomputeResult = {
      hour: hour.toISOString(),
      runId,
      logicVersion: logic.version,
      sites,
      inputRows: Number(counts!.input),
      outputRows: Number(counts!.output),
      durationMs: Date.now() - started,
    };
    await recordRun(ch, run, 'committed', result, '');
    return result;
  } catch (error) {
    // A run is 'failed' only if it never became visible: cleanup deletes failed runs' rows at once.
    if (!committed) {
      const message = error instanceof Error ? error.message : String(error);
      await recordRun(
        ch,
        run,
        'failed',
        { inputRows: 0, outputRows: 0, durationMs: Date.now() - started },
        message,
      ).catch(() => {});
    }
    throw error;
  } finally {
    for (const table of Object.values(work)) {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
    }
  }
}

async function recordRun(
  ch: ClickHouseClient,
  run: { hour: string; run: string; logic: number; sites: string[]; reason: string },
  status: 'started' | 'committed' | 'failed',
  result: Pick<RecomputeResult, 'inputRows' | 'outputRows' | 'durationMs'>,
  error: string,
): Promise<void> {
  await ch.insert({
    table: 'batch_runs',
    values: [
      {
        hour: run.hour,
        run_id: run.run,
        logic_version: run.logic,
        reason: run.reason,
        sites: run.sites,
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
