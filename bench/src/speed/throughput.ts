/**
 * Throughput and storage of the speed layer from a full backlog: generated traffic, enriched as
 * ingest would and produced to a fresh topic the way ingest produces (idempotent, acks=all, gzip,
 * keyed by site); only then the schema is applied in a fresh chDB data directory in this process,
 * so the Kafka engine starts against the whole backlog. Timed from applySchema until events_raw and
 * every rollup hold everything; then each table is merged down (OPTIMIZE … FINAL) and measured.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type ClickHouseClient,
  createClickHouse,
  createKafka,
  createLogger,
  ensureEventsTopic,
  loadConfig,
} from '@sightline/core';
import { CompressionTypes } from 'kafkajs';
import { dailyShare, generateTraffic } from '../generator/index.js';
import { importIngest, importSpeedLayer, importStack } from './runtime-imports.js';
import { freePortPair, sleep } from './util.js';

export interface ThroughputOptions {
  events: number;
  partitions: number;
  sites: number;
  /** The simulated span of the generated traffic (its events' times), ending now. */
  windowMs: number;
  timeoutSeconds: number;
  /** Kafka compression of the produced batches; ingest uses gzip. */
  compression: 'gzip' | 'none';
  progress(line: string): void;
}

export interface Sample {
  /** ms since applySchema started */
  t: number;
  raw: number;
  hourly: number;
  minute: number;
  dimensions: number;
  deadLetters: number;
  /** How long this sample's query took, ms. */
  queryMs: number;
}

export interface TableStorage {
  table: string;
  rows: number;
  parts: number;
  bytesOnDisk: number;
  compressed: number;
  uncompressed: number;
}

export interface ThroughputResult {
  events: number;
  /** Events the rollups should count (not bots). */
  nonBot: number;
  partitions: number;
  consumers: number;
  sites: number;
  windowMs: number;
  compression: 'gzip' | 'none';
  /** Messages per produce request. */
  batch: number;
  /** Mean size of one Kafka message value (the event as JSON), before Kafka's gzip. */
  messageBytes: number;
  produceMs: number;
  samples: Sample[];
  /** ms from applySchema to the first row in events_raw. */
  firstRowMs: number | undefined;
  /** ms from applySchema until events_raw held every event. */
  rawDoneMs: number | undefined;
  /** ms from applySchema until events_raw and every rollup held everything. */
  allDoneMs: number | undefined;
  /**
   * CPU time (user + system, all threads) of this process from applySchema until everything was in:
   * chDB's Kafka engine and views run in this process, so this is what the stream cost, whatever else
   * shared the machine (wall-clock rates on a busy machine measure the neighbours too).
   */
  cpuMs: number | undefined;
  timedOut: boolean;
  final: Sample;
  storage: TableStorage[];
  /** The `raw` column of events_raw alone. */
  rawColumn: { compressed: number; uncompressed: number } | undefined;
  optimizeMs: number;
}

/**
 * Messages per produce request: about what ingest's sink sends under load (up to 5000). Uncompressed,
 * one partition's share of that would pass the broker's 1 MB batch limit, hence smaller batches.
 */
const BATCH = { gzip: 5000, none: 1000 } as const;
const TABLES = ['events_raw', 'speed_hourly', 'speed_minute', 'speed_dimensions'] as const;

async function one<T>(ch: ClickHouseClient, query: string): Promise<T> {
  const rows = await (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
  return rows[0]!;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { events, partitions, progress } = options;
  const consumers = Math.min(partitions, 2);
  const dir = await mkdtemp(path.join(tmpdir(), 'sightline-speed-throughput-'));
  const unique = `speed-bench-${Date.now().toString(36)}`;
  const logger = createLogger({ LOG_LEVEL: 'warn' });
  const stack = await importStack();
  const port = await freePortPair();
  progress(`starting a local Kafka on ${port}…`);
  const broker = await stack.startLocalKafka({
    dataDir: path.join(dir, 'broker'),
    port,
    controllerPort: port + 1,
    logger,
    progress: (line) => progress(`  ${line}`),
  });
  let ch: ClickHouseClient | undefined;
  try {
    const config = loadConfig({
      DATA_DIR: path.join(dir, 'node'),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_EVENTS_TOPIC: unique,
      KAFKA_CONSUMER_GROUP: unique,
      KAFKA_EVENTS_PARTITIONS: String(partitions),
      KAFKA_ENGINE_CONSUMERS: String(consumers),
      LOG_LEVEL: 'warn',
    });
    // kafkajs v2 announces its partitioner change on every producer; the default is the one ingest uses.
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const kafka = createKafka(config, logger, 'speed-bench');
    await ensureEventsTopic(kafka, config);

    // Produce: the generator's traffic through ingest's own enrichment, as ingest would store it.
    const { createEnricher, toStoredEvent } = await importIngest();
    const enricher = createEnricher();
    const salt = randomBytes(32);
    const sites = Array.from({ length: options.sites }, (_, i) => `site-${String(i).padStart(4, '0')}`);
    const end = Date.now();
    const start = end - options.windowMs;
    // Peak rate such that the window holds about `events` requests (the daily cycle thins it).
    const meanShare = (dailyShare(start) + dailyShare(start + options.windowMs / 2) + dailyShare(end)) / 3;
    const traffic = generateTraffic({
      seed: 7,
      sites,
      start,
      durationMs: options.windowMs,
      eventsPerSecond: (events / (options.windowMs / 1000) / meanShare) * 1.05,
    });
    const batch = BATCH[options.compression];
    const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    progress(`producing ${events.toLocaleString('en-US')} events to ${unique} (${partitions} partitions)…`);
    const produceStart = performance.now();
    let produced = 0;
    let nonBot = 0;
    let messageBytes = 0;
    // One request in flight while the next batch is being built; its failure is awaited below.
    let pending: Promise<unknown> = Promise.resolve();
    let failure: unknown;
    let lastReport = produceStart;
    while (produced < events) {
      const messages: { key: string; value: string }[] = [];
      while (messages.length < batch && produced + messages.length < events) {
        const next = traffic.next();
        if (next.done) break;
        const { body, ip, userAgent, country, sentAt } = next.value;
        const ts = typeof body.timestamp === 'number' ? body.timestamp : sentAt;
        const event = toStoredEvent(
          body,
          Math.min(ts, sentAt),
          { ip, userAgent, country, acceptLanguage: 'en-US,en;q=0.8', receivedAt: sentAt },
          salt,
          enricher,
        );
        if (!event.is_bot) nonBot += 1;
        const value = JSON.stringify(event);
        messageBytes += Buffer.byteLength(value);
        messages.push({ key: event.site_id, value });
      }
      if (messages.length === 0) {
        progress(`  the generator ran dry at ${produced} events`);
        break;
      }
      await pending;
      if (failure) throw failure;
      pending = producer.send({ topic: unique, acks: -1, compression, messages }).catch((error: unknown) => {
        failure = error;
      });
      produced += messages.length;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`  ${produced.toLocaleString('en-US')} produced`);
      }
    }
    await pending;
    if (failure) throw failure;
    await producer.disconnect();
    const produceMs = performance.now() - produceStart;
    progress(
      `produced ${produced.toLocaleString('en-US')} in ${(produceMs / 1000).toFixed(1)} s; applying the schema (the Kafka engine starts)…`,
    );

    ch = createClickHouse(config);
    const { applySchema } = await importSpeedLayer();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await applySchema(ch, config, logger);
    const schemaMs = performance.now() - t0;

    const samples: Sample[] = [];
    const sample = async (): Promise<Sample> => {
      const started = performance.now();
      const row = await one<Record<string, string | number>>(
        ch!,
        `SELECT
          (SELECT count() FROM events_raw) AS raw,
          (SELECT sum(events) FROM speed_hourly) AS hourly,
          (SELECT sum(events) FROM speed_minute) AS minute,
          (SELECT sum(events) FROM speed_dimensions WHERE dimension = 'event_name') AS dimensions,
          (SELECT count() FROM events_dead_letter) AS dead`,
      );
      return {
        t: performance.now() - t0,
        raw: Number(row.raw),
        hourly: Number(row.hourly),
        minute: Number(row.minute),
        dimensions: Number(row.dimensions),
        deadLetters: Number(row.dead),
        queryMs: performance.now() - started,
      };
    };
    const done = (s: Sample) =>
      s.raw >= produced && s.hourly >= nonBot && s.minute >= nonBot && s.dimensions >= nonBot;
    let firstRowMs: number | undefined;
    let rawDoneMs: number | undefined;
    let allDoneMs: number | undefined;
    let cpuMs: number | undefined;
    let timedOut = false;
    let last: Sample;
    let lastLog = 0;
    for (;;) {
      last = await sample();
      samples.push(last);
      if (firstRowMs === undefined && last.raw > 0) firstRowMs = last.t;
      if (rawDoneMs === undefined && last.raw >= produced) rawDoneMs = last.t;
      if (done(last)) {
        allDoneMs = last.t;
        const cpu = process.cpuUsage(cpu0);
        cpuMs = (cpu.user + cpu.system) / 1000;
        break;
      }
      if (last.t > options.timeoutSeconds * 1000) {
        timedOut = true;
        break;
      }
      if (last.t - lastLog >= 10_000) {
        lastLog = last.t;
        progress(
          `  ${(last.t / 1000).toFixed(0)} s: events_raw ${last.raw.toLocaleString('en-US')} / ${produced.toLocaleString('en-US')}`,
        );
      }
      await sleep(Math.max(0, 1000 - (performance.now() - t0 - last.t)));
    }
    progress(
      `schema applied in ${(schemaMs / 1000).toFixed(2)} s; ${timedOut ? 'timed out' : `all in after ${((allDoneMs ?? 0) / 1000).toFixed(1)} s`}; merging the tables (OPTIMIZE … FINAL)…`,
    );

    // Storage: merged down, so parts are final; active parts only.
    const optimizeStart = performance.now();
    for (const table of TABLES) {
      await ch.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    }
    const optimizeMs = performance.now() - optimizeStart;
    const storage = await (
      await ch.query({
        query: `SELECT table, sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytesOnDisk,
                  sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
                FROM system.parts
                WHERE active AND database = currentDatabase() AND table IN {tables:Array(String)}
                GROUP BY table`,
        query_params: { tables: [...TABLES] },
        format: 'JSONEachRow',
      })
    ).json<Record<string, string | number>>();
    const byTable = new Map(storage.map((r) => [String(r.table), r]));
    const rawColumn = await one<{ compressed: string | number; uncompressed: string | number } | undefined>(
      ch,
      `SELECT data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed
       FROM system.columns WHERE database = currentDatabase() AND table = 'events_raw' AND name = 'raw'`,
    );
    return {
      events: produced,
      nonBot,
      partitions,
      consumers,
      sites: options.sites,
      windowMs: options.windowMs,
      compression: options.compression,
      batch,
      messageBytes: messageBytes / Math.max(1, produced),
      produceMs,
      samples,
      firstRowMs,
      rawDoneMs,
      allDoneMs,
      cpuMs,
      timedOut,
      final: await sample(),
      storage: TABLES.map((table) => {
        const r = byTable.get(table);
        return {
          table,
          rows: Number(r?.rows ?? 0),
          parts: Number(r?.parts ?? 0),
          bytesOnDisk: Number(r?.bytesOnDisk ?? 0),
          compressed: Number(r?.compressed ?? 0),
          uncompressed: Number(r?.uncompressed ?? 0),
        };
      }),
      rawColumn: rawColumn && {
        compressed: Number(rawColumn.compressed),
        uncompressed: Number(rawColumn.uncompressed),
      },
      optimizeMs,
    };
  } finally {
    progress('stopping the throughput run’s Kafka…');
    if (ch) {
      // chDB lives as long as this process: stop its Kafka consumer before the broker goes away.
      for (const view of ['mv_events_raw', 'mv_events_dead_letter', 'events_queue']) {
        await ch.command({ query: `DROP TABLE IF EXISTS ${view}` }).catch(() => undefined);
      }
      await ch.close();
    }
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
