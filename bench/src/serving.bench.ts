/**
 * The query API, measured on this machine in a fresh chDB data directory of its own:
 *   1. events for many sites over 30 days, generated inside ClickHouse straight into events_raw
 *      (the speed layer's views fill speed_hourly, speed_minute and speed_dimensions for the hours
 *      from the watermark on, the only ones the queries read from them);
 *   2. the batch layer's recomputeHour over every hour but the last 6, committed: the watermark
 *      sits 6 hours before the end, so a 30-day range is part batch, part speed;
 *   3. 50 concurrent HTTP clients (autocannon) asking the query routes (serving's queryRoutes over
 *      a pool of chDB connections, as the service runs them, without the key check) for 30-day
 *      hourly timeseries and top-10 page breakdowns of random sites; then the same questions
 *      answered by scanning events_raw at query time, through the same pool and HTTP server.
 *
 *   npm run bench:serving -- [--sites 10000] [--events 10000000] [--seconds 20] [--connections 50]
 *                            [--pool 2] [--data-dir DIR] [--no-record]
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ClickHouseClient,
  ClickHousePool,
  createClickHouse,
  createLogger,
  type Logger,
  loadConfig,
  migrate,
} from '@sightline/core';
import { streamlessMigration } from '@sightline/core/testing';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { positiveInteger } from './cli-options.js';
import { root } from './ingest/service-process.js';
import { uptime } from './speed/util.js';

const usage = `Usage: npm run bench:serving -- [options]

  --sites N        sites (Zipf-like: a few big, most small; default 10000)
  --events N       events over the 30 days (default 10000000)
  --seconds N      seconds of each load phase (default 20)
  --connections N  concurrent HTTP clients (default 50)
  --pool N         chDB connections of the query API (default 2, as CLICKHOUSE_SERVING_CONNECTIONS)
  --threads N      threads one read may use (default: the service's, ClickHousePool's queryThreads)
  --batch-hours N  hours recomputed by the batch, ending 6 hours before the end (default: all of
                   them, 714; fewer is for quick trials: hours below the watermark without a
                   committed batch run read as empty)
  --data-dir DIR   keep the data in DIR; a DIR loaded by an earlier run (same --sites, --events and
                   --batch-hours) is measured again without loading it, so settings and code can be
                   compared on the same data
  --no-record      print only; do not append to bench/RESULTS.md`;

const { values } = parseArgs({
  options: {
    sites: { type: 'string', default: '10000' },
    events: { type: 'string', default: '10000000' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
    pool: { type: 'string', default: '2' },
    threads: { type: 'string' },
    'batch-hours': { type: 'string', default: String(30 * 24 - 6) },
    'data-dir': { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const positive = positiveInteger(usage);
const sites = positive('sites', values.sites);
const events = positive('events', values.events);
const seconds = positive('seconds', values.seconds);
const connections = positive('connections', values.connections);
const poolSize = positive('pool', values.pool);
const batchHours = Math.min(
  Number(values['batch-hours']) >= 0 ? Math.floor(Number(values['batch-hours'])) : 0,
  30 * 24 - 6,
);

const HOUR_MS = 3600_000;
const DAYS = 30;
const START = Date.UTC(2026, 9, 1);
const END = START + DAYS * 24 * HOUR_MS;
/** Hours at the end left to the speed layer. */
const LIVE_HOURS = 6;
const CHUNK = 2_000_000;
const speedViews = ['mv_speed_hourly', 'mv_speed_minute', 'mv_speed_dimensions'];

interface BatchLayerModule {
  rebuildRollups(
    ch: ClickHouseClient,
    logger: Logger,
  ): Promise<{ tables: string[]; rows: number; seconds: number }>;
  recomputeHour(
    ch: ClickHouseClient,
    hour: Date,
    options: { reason: string },
  ): Promise<{ durationMs: number }>;
}
interface QueryRoutesModule {
  queryRoutes(deps: { pool: ClickHousePool }): FastifyPluginAsync;
}
interface DocsModule {
  useZodSchemas(app: FastifyInstance): void;
}
const load = <T>(specifier: string): Promise<T> => import(specifier) as Promise<T>;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const log = (line: string) => console.log(`[serving-bench] ${line}`);

/**
 * Synthetic events made by ClickHouse from hashes of the row number: sites skewed like real
 * traffic (site i's share falls as i^(-2/3)), 200 visitors per site, 30 pages, a tenth custom
 * events, a third from search. Deterministic for the same arguments.
 */
const generateSql = `
  INSERT INTO events_raw (event_id, site_id, name, ts, received_at, url, hostname, pathname, referrer, props,
    revenue_amount, revenue_currency, interactive, referrer_source, channel, utm_source, utm_medium,
    utm_campaign, utm_content, utm_term, browser, browser_version, os, device, country, is_bot, visitor_id,
    enrich_version, raw, kafka_partition, kafka_offset, kafka_ts)
  SELECT generateUUIDv4(number), concat('site-', toString(s)), if(r % 10 = 0, 'signup', 'pageview'), t, t,
    concat('https://site', toString(s), '.example', p), concat('site', toString(s), '.example'), p,
    if(r % 3 = 0, 'https://www.google.com/', ''), map(), NULL, '', true,
    if(r % 3 = 0, 'Google', ''), if(r % 3 = 0, 'search', 'direct'), '', '', '', '', '',
    ['Chrome', 'Firefox', 'Safari', 'Edge'][r % 4 + 1], '130', ['Windows', 'macOS', 'Linux', 'Android', 'iOS'][r % 5 + 1],
    ['desktop', 'mobile', 'tablet'][r % 3 + 1], ['DE', 'US', 'FR', 'GB', 'IN', 'BR'][intDiv(r, 7) % 6 + 1],
    false, cityHash64(s, intDiv(r, 11) % 200), 1, '{}', 0, number, t
  FROM (
    SELECT number,
      toUInt32(pow((cityHash64(number, 1) % 1000000) / 1000000, 3) * {sites:UInt32}) % {sites:UInt32} AS s,
      toDateTime64({start:UInt32}, 3, 'UTC') + toIntervalMillisecond(cityHash64(number, 2) % {span:UInt64}) AS t,
      concat('/p', toString(cityHash64(number, 3) % 30)) AS p,
      cityHash64(number, 4) AS r
    FROM numbers({offset:UInt64}, {count:UInt64})
  )`;

/** The same questions, answered from events_raw at query time (no rollups). */
const rawTimeseriesSql = `
  SELECT toStartOfHour(ts) AS time, uniq(visitor_id) AS visitors, countIf(name = 'pageview') AS pageviews
  FROM events_raw
  WHERE site_id = {site:String} AND ts >= toDateTime64({from:UInt32}, 3, 'UTC') AND ts < toDateTime64({to:UInt32}, 3, 'UTC') AND NOT is_bot
  GROUP BY time ORDER BY time WITH FILL STEP toIntervalHour(1)`;
const rawBreakdownSql = `
  SELECT pathname AS value, uniq(visitor_id) AS visitors, countIf(name = 'pageview') AS pageviews
  FROM events_raw
  WHERE site_id = {site:String} AND ts >= toDateTime64({from:UInt32}, 3, 'UTC') AND ts < toDateTime64({to:UInt32}, 3, 'UTC') AND NOT is_bot
  GROUP BY value ORDER BY visitors DESC, value LIMIT 10`;

interface Phase {
  name: string;
  requests: number;
  p50: number;
  p99: number;
  reqPerSecond: number;
  /** CPU time of this process (load, server and chDB) per answered request: steadier than req/s on a shared machine. */
  cpuMs: number;
  /** Bytes this process read from disk (not the page cache) per answered request. */
  diskKb: number;
  non2xx: number;
  errors: number;
}

/**
 * What this process has read from disk (Linux's /proc/self/io read_bytes), 0 elsewhere. A read of
 * rollup rows that are not in the page cache waits for the disk: where memory is short (this
 * machine pages out file pages untouched for a minute), bytes per request say more than req/s.
 */
async function diskReadBytes(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8').catch(() => '');
  return Number(/^read_bytes: (\d+)$/m.exec(io)?.[1] ?? 0);
}

/** Requests the server is still answering: a phase starts only once the previous one's are done. */
let inFlight = 0;

async function drained(): Promise<void> {
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  // Aborted requests may still hold a pool connection for their query: let those finish too.
  await new Promise((resolve) => setTimeout(resolve, 5000));
}

async function phase(
  base: string,
  name: string,
  pathFor: (site: string) => string,
  duration: number,
): Promise<Phase> {
  await drained();
  log(`${name}: ${connections} clients for ${duration} s…`);
  const cpu = process.cpuUsage();
  const disk = await diskReadBytes();
  const result = await autocannon({
    url: base,
    connections,
    duration,
    // Long enough that a slow answer is measured rather than dropped and sent again.
    timeout: 60,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: pathFor(`site-${Math.floor(Math.random() * sites)}`),
        }),
      },
    ],
  });
  const row = {
    name,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    reqPerSecond: result.requests.average,
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu)) / result.requests.total,
    diskKb: ((await diskReadBytes()) - disk) / 1024 / result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  log(
    `${name}: p50 ${row.p50} ms, p99 ${row.p99} ms, ${fmt(row.reqPerSecond)} req/s, ${row.cpuMs.toFixed(2)} ms CPU and ${row.diskKb.toFixed(0)} KB read from disk per request, non-2xx ${row.non2xx}`,
  );
  return row;
}

const keptDir = values['data-dir'] ? path.resolve(values['data-dir']) : undefined;
const dataDir = keptDir ?? (await mkdtemp(path.join(tmpdir(), 'sightline-bench-serving-')));
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, CLICKHOUSE_URL: '', LOG_LEVEL: 'warn' });
const ch = createClickHouse(config);
const clients = Array.from({ length: poolSize }, () => createClickHouse(config));
const pool = values.threads
  ? new ClickHousePool(clients, poolSize, positive('threads', values.threads))
  : new ClickHousePool(clients);
/** While set, every query the serving pool runs, with its time: how one request spends it. */
let trace: string[] | undefined;
for (const client of pool.clients) {
  const query = client.query.bind(client);
  client.query = (async (params: Parameters<typeof query>[0]) => {
    const t0 = performance.now();
    try {
      return await query(params);
    } finally {
      const text = params.query.replace(/\s+/g, ' ').trim();
      trace?.push(`${(performance.now() - t0).toFixed(1)} ms \`${text.slice(0, 60)}…\``);
    }
  }) as typeof client.query;
}
const app = Fastify();
// A request ends with its response or, when the client gave up (the end of a phase), its abort.
const open = new WeakSet<object>();
const done = (request: object) => {
  if (open.delete(request)) inFlight -= 1;
};
app.addHook('onRequest', async (request) => {
  open.add(request);
  inFlight += 1;
});
app.addHook('onResponse', async (request) => done(request));
app.addHook('onRequestAbort', async (request) => done(request));
try {
  await migrate(ch, streamlessMigration);
  // No stream: events go straight into events_raw, whose views feed the speed rollups.
  for (const view of ['mv_events_raw', 'mv_events_dead_letter'])
    await ch.command({ query: `DROP VIEW IF EXISTS ${view}` });
  await ch.command({ query: 'DROP TABLE IF EXISTS events_queue' });

  /** Generates the events and runs the batch over them; says how long each took. */
  const loadData = async (): Promise<string> => {
    const started = performance.now();
    // With a batch run, only the last LIVE_HOURS are read from the speed rollups (every hour before is
    // below the watermark), so the speed views are detached while the earlier hours' events are
    // generated: the rollups the queries read are as they would be, and the data loads several times
    // faster. Without one, every hour is live.
    const liveFrom = batchHours > 0 ? END - LIVE_HOURS * HOUR_MS : START;
    const liveEvents = Math.round((events * (END - liveFrom)) / (END - START));
    const generate = async (first: number, count: number, from: number, to: number) => {
      for (let offset = first; offset < first + count; offset += CHUNK) {
        await ch.command({
          query: generateSql,
          query_params: {
            sites,
            start: from / 1000,
            span: to - from,
            offset,
            count: Math.min(CHUNK, first + count - offset),
          },
          clickhouse_settings: { max_execution_time: 0 },
        });
        log(`generated ${fmt(Math.min(offset + CHUNK, first + count))} events`);
      }
    };
    for (const view of speedViews) await ch.command({ query: `DETACH TABLE ${view}` });
    await generate(0, events - liveEvents, START, liveFrom);
    for (const view of speedViews) await ch.command({ query: `ATTACH TABLE ${view}` });
    await generate(events - liveEvents, liveEvents, liveFrom, END);
    await ch.command({
      query: `INSERT INTO sites (site_id, domain, timezone, allowed_hostnames, created_at, version)
              SELECT concat('site-', toString(number)), concat('site', toString(number), '.example'), 'UTC', [], now64(3), 1
              FROM numbers({sites:UInt32})`,
      query_params: { sites },
    });
    const generateSeconds = (performance.now() - started) / 1000;

    const batchStarted = performance.now();
    const batch = await load<BatchLayerModule>('@sightline/batch-layer');
    const firstBatchHour = END - (LIVE_HOURS + batchHours) * HOUR_MS;
    for (let h = 0; h < batchHours; h += 1) {
      await batch.recomputeHour(ch, new Date(firstBatchHour + h * HOUR_MS), { reason: 'bench' });
      if ((h + 1) % 72 === 0) log(`batch: ${h + 1}/${batchHours} hours committed`);
    }
    const batchSeconds = (performance.now() - batchStarted) / 1000;
    return `generated inside ClickHouse into events_raw of a fresh chDB in ${generateSeconds.toFixed(1)} s (the speed views fed for the hours from the watermark on, the only ones read from the speed rollups); recomputeHour over the ${batchHours} hours before the last ${LIVE_HOURS} in ${batchSeconds.toFixed(1)} s (${batchHours ? (batchSeconds / batchHours).toFixed(2) : '0'} s per hour)`;
  };
  // What the batch layer does at its start: rollups made before their storage was set (an older data
  // directory) are rebuilt first, and empty ones at once.
  const rebuilt = await (await load<BatchLayerModule>('@sightline/batch-layer')).rebuildRollups(
    ch,
    createLogger({ LOG_LEVEL: 'warn' }),
  );
  if (rebuilt.rows > 0) log(`rollups rebuilt: ${fmt(rebuilt.rows)} rows in ${rebuilt.seconds.toFixed(1)} s`);
  const [loadedBefore] = await (
    await ch.query({ query: 'SELECT count() AS n FROM events_raw', format: 'JSONEachRow' })
  ).json<{ n: string }>();
  const loaded =
    keptDir && Number(loadedBefore?.n) > 0
      ? `loaded by an earlier run into ${keptDir}, measured again${rebuilt.rows > 0 ? ` (its rollups rebuilt first: ${fmt(rebuilt.rows)} rows in ${rebuilt.seconds.toFixed(1)} s)` : ''}`
      : await loadData();

  const sizes = await (
    await ch.query({
      query: `SELECT table, sum(rows) AS rows, count() AS parts FROM system.parts
              WHERE active AND table IN ('events_raw', 'speed_hourly', 'speed_dimensions', 'batch_hourly', 'batch_dimensions_hourly')
              GROUP BY table ORDER BY table`,
      format: 'JSONEachRow',
    })
  ).json<{ table: string; rows: string; parts: string }>();
  const sizesText = sizes.map((s) => `${s.table} ${fmt(Number(s.rows))} (${s.parts} parts)`).join(', ');
  log(`tables: ${sizesText}`);

  const { queryRoutes } = await load<QueryRoutesModule>(
    path.join(root, 'serving/src/routes/query-routes.ts'),
  );
  const { useZodSchemas } = await load<DocsModule>(path.join(root, 'serving/src/routes/docs.ts'));
  useZodSchemas(app);
  await app.register(queryRoutes({ pool }));
  const range = { from: new Date(START).toISOString(), to: new Date(END).toISOString() };
  app.get<{ Querystring: { site: string } }>('/raw/timeseries', async (request) => {
    const result = await pool.client.query({
      query: rawTimeseriesSql,
      query_params: { site: request.query.site, from: START / 1000, to: END / 1000 },
      format: 'JSONEachRow',
    });
    return { results: await result.json() };
  });
  app.get<{ Querystring: { site: string } }>('/raw/breakdown', async (request) => {
    const result = await pool.client.query({
      query: rawBreakdownSql,
      query_params: { site: request.query.site, from: START / 1000, to: END / 1000 },
      format: 'JSONEachRow',
    });
    return { results: await result.json() };
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const q = new URLSearchParams(range).toString();
  const timeseries = (site: string) =>
    `/v1/sites/${site}/timeseries?metrics=visitors,pageviews&interval=hour&${q}`;
  const breakdown = (site: string) =>
    `/v1/sites/${site}/breakdown?dimension=page&metrics=visitors,pageviews&limit=10&${q}`;
  const sample = await app.inject({ method: 'GET', url: timeseries('site-1') });
  if (sample.statusCode !== 200) throw new Error(`timeseries answered ${sample.statusCode}: ${sample.body}`);
  log(`one answer: ${(sample.json() as { results: unknown[] }).results.length} hourly buckets`);
  const traces: string[] = [];
  for (const [name, url] of [
    ['timeseries', timeseries],
    ['breakdown', breakdown],
  ] as const) {
    // A site asked for the first time (its zone looked up too), then again.
    const site = `site-${Math.floor(Math.random() * sites)}`;
    for (const when of ['first request', 'next request']) {
      trace = [];
      const t0 = performance.now();
      await app.inject({ method: 'GET', url: url(site) });
      traces.push(
        `${name}, ${when}: ${(performance.now() - t0).toFixed(1)} ms; queries: ${trace.join(', ')}`,
      );
      trace = undefined;
    }
  }
  for (const line of traces) log(line);
  const single: string[] = [];
  const medians = new Map<string, number>();
  for (const [name, url] of [
    ['timeseries', timeseries],
    ['breakdown', breakdown],
    ['raw timeseries', (s: string) => `/raw/timeseries?site=${s}`],
    ['raw breakdown', (s: string) => `/raw/breakdown?site=${s}`],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const t0 = performance.now();
      await app.inject({ method: 'GET', url: url(`site-${Math.floor(Math.random() * sites)}`) });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    medians.set(name, times[10]!);
    single.push(`${name} ${times[10]!.toFixed(1)} ms`);
    log(`${name}, one client: median ${times[10]!.toFixed(1)} ms`);
  }

  await phase(base, 'warm-up', timeseries, 3);
  const machine = await uptime();
  const rows = [
    await phase(base, 'rollups: 30-day hourly timeseries', timeseries, seconds),
    await phase(base, 'rollups: top-10 pages', breakdown, seconds),
    await phase(
      base,
      'events_raw scan: 30-day hourly timeseries',
      (s) => `/raw/timeseries?site=${s}`,
      seconds,
    ),
    await phase(base, 'events_raw scan: top-10 pages', (s) => `/raw/breakdown?site=${s}`, seconds),
  ];
  const [ts, bd, rawTs, rawBd] = rows as [Phase, Phase, Phase, Phase];
  // A phase in which fewer requests were answered than there are clients measured only the fastest
  // of the queue: its p50 is no p50.
  const ratio = (raw: Phase, rollup: Phase) =>
    raw.requests < connections || rollup.p50 <= 0
      ? `n/a (${raw.requests} answers, fewer than the clients)`
      : `${(raw.p50 / rollup.p50).toFixed(1)}×`;
  const oneClient = (raw: string, rollup: string) => (medians.get(raw)! / medians.get(rollup)!).toFixed(1);
  const table = [
    '| questions | answered from | requests | p50 ms | p99 ms | req/s | CPU ms per request | disk KB per request | non-2xx | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const [source, question] = r.name.split(': ');
      return `| ${question} | ${source} | ${fmt(r.requests)} | ${r.p50} | ${r.p99} | ${fmt(r.reqPerSecond)} | ${r.cpuMs.toFixed(2)} | ${r.diskKb.toFixed(0)} | ${r.non2xx} | ${r.errors} |`;
    }),
  ].join('\n');
  const verdict = (r: Phase) =>
    `p99 ${r.p99} ms (target ≤ 50: ${r.p99 <= 50 ? 'met' : 'missed'}), ${fmt(r.reqPerSecond)} req/s (target ≥ 1,000: ${r.reqPerSecond >= 1000 ? 'met' : 'missed'})`;
  const section = [
    `\n## Serving (issue 6), ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Command: \`npm run bench:serving -- --sites ${sites} --events ${events} --seconds ${seconds} --connections ${connections} --pool ${poolSize}${values.threads ? ` --threads ${values.threads}` : ''}${batchHours < 30 * 24 - 6 ? ` --batch-hours ${batchHours}` : ''}${keptDir ? ` --data-dir ${values['data-dir']}` : ''}\` · machine: ${machine}`,
    `Data: ${fmt(events)} synthetic events over ${DAYS} days and ${fmt(sites)} sites (skewed: site i's share falls as i^(-2/3)), ${loaded}; the last ${LIVE_HOURS} hours are the speed layer's. Rows: ${sizesText}.`,
    `Load: autocannon in the benchmark process, ${connections} connections, ${seconds} s per row, a random site per request (uniform over the sites, so mostly small ones), 60 s request timeout; each row starts once the server has answered every request of the previous one; the query routes (queryRoutes, without the key check) and the raw-scan routes on one fastify server over a pool of ${poolSize} chDB connections, ${pool.queryThreads} threads per read; 2 cores shared with the load generator.`,
    '',
    table,
    '',
    `- Rollups, timeseries: ${verdict(ts)}; breakdown: ${verdict(bd)}.`,
    `- One client, 20 requests in a row before the load (median): ${single.join(', ')}.`,
    ...traces.map((line) => `- One request, ${line}.`),
    `- Scanning events_raw instead: p50 ${ratio(rawTs, ts)} slower for the timeseries, ${ratio(rawBd, bd)} for the breakdown under load; with one client (no queue), ${oneClient('raw timeseries', 'timeseries')}× and ${oneClient('raw breakdown', 'breakdown')}× (target: rollups ≥ 10× faster at p50).`,
    '',
  ].join('\n');
  console.log(section);
  if (!values['no-record']) await appendFile(path.join(root, 'bench/RESULTS.md'), section);
} finally {
  await app.close();
  await pool.close();
  await ch.close();
  if (!keptDir) await rm(dataDir, { recursive: true, force: true });
}
