import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@sightline/core';
import { Kafka, logLevel } from 'kafkajs';
import { startProcess, stopProcess, until } from '../ingest/service-process.js';
import { importStack, type LocalKafka } from '../speed/runtime-imports.js';
import { sleep } from '../speed/util.js';
import { Ledger } from './ledger.js';
import { startSoakRedis } from './redis-server.js';
import { postEvents, ServiceClient } from './service-client.js';

export interface SoakOptions {
  minutes: number;
  /** Events per second, sent in requests of `batch` events. */
  rate: number;
  batch: number;
  /** How long Kafka stays stopped (the spool fills, ingest answers 503). */
  kafkaDownSeconds: number;
  /** How long Redis stays stopped before it restarts empty. */
  redisDownSeconds: number;
  /** How long to wait for events_raw to hold every acknowledged event after the traffic. */
  drainSeconds: number;
  log: (line: string) => void;
}

export interface FaultResult {
  name: string;
  at: number;
  cleared?: number;
  /** The first 202 to a request sent after the fault cleared. */
  ingestRecovered?: number;
  /** A marker event acknowledged after the fault cleared shows in the site's timeseries. */
  speedRecovered?: number;
}

export interface SoakResult {
  options: SoakOptions;
  /** Events by answer: '202', '503', '429', 'no answer' (refused at the socket or timed out), …. */
  statuses: Map<string, number>;
  acked: number;
  found: number;
  rows: number;
  distinctIds: number;
  /** Distinct non-bot event_ids of the hour, and the merged rollup's pageviews for it. */
  counted: number;
  rollup: number;
  sources: string;
  hour: string;
  /** Seconds from the end of the traffic until events_raw held every acknowledged event, and the batch commit's seconds. */
  drainSeconds: number;
  commitSeconds: number;
  committed: boolean;
  watermark: string;
  faults: FaultResult[];
  /** Seconds from Redis back up until ingest's rate-limit counter was in it again. */
  rateLimitBack?: number;
  /** The day's visitor salt is in the restarted Redis (set again by the restarted service). */
  saltBack: boolean;
  /** Answers other than 202, 503, 429 or no answer, by status. */
  refusals: [string, number][];
  ok: boolean;
}

/**
 * The soak: the service (`scripts/src/start.ts`) as its own process with a Kafka and a Redis of the
 * soak's own, steady traffic to POST /v1/events, and faults spread over the run. The events are
 * timed in the hour that ended an hour ago (late events, accepted for 72 hours), so that the batch
 * layer can commit that hour at the end; marker events timed now, on a second site, measure when
 * the speed layer counts new events again after each fault.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-soak-'));
  const unique = `soak-${Date.now().toString(36)}`;
  const { startLocalKafka, freePort } = await importStack();
  const port = await freePort();
  const kafkaPorts = { port: await freePort(), controllerPort: await freePort() };
  const adminToken = `soak-admin-${randomUUID()}`;
  const logger = createLogger({ LOG_LEVEL: 'warn' } as never);
  const startKafka = () =>
    startLocalKafka({ dataDir: path.join(dataDir, 'kafka-owner'), logger, ...kafkaPorts });
  log('Starting Kafka and Redis…');
  let kafka: LocalKafka | undefined = await startKafka();
  const redis = await startSoakRedis(await freePort());
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    KAFKA_BROKERS: kafka.brokers,
    REDIS_URL: redis.url,
    KAFKA_EVENTS_TOPIC: `events-${unique}`,
    KAFKA_CONSUMER_GROUP: `speed-${unique}`,
    BATCH_QUEUE: `batch-${unique}`,
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    LOG_LEVEL: 'error',
    SPOOL_MAX_BYTES: String(256 * 1024),
    PRODUCE_DEADLINE_MS: '500',
    // Every request comes from one address: the per-IP limit is off, the per-site limit (counted in
    // Redis) stays on at its default and is what the Redis restart exercises.
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_KEY_PER_MINUTE: '0',
    // The checks at the end read every event of the run (millions at 5,000 events/s).
    SQL_MAX_EXECUTION_SECONDS: '600',
  };
  const url = `http://127.0.0.1:${port}`;
  // The service's log lines (errors only) outlive the run's data directory: they explain a failure.
  const logFile = path.join(tmpdir(), `${unique}-service.log`);
  const serviceLog = await open(logFile, 'a');
  log(`The service logs to ${logFile}`);
  let child: ChildProcess | undefined;
  const startService = async () => {
    child = await startProcess('scripts/src/start.ts', [], env, url, serviceLog.fd);
  };
  const service = new ServiceClient(url, adminToken);

  try {
    log('Starting the service…');
    await startService();
    const siteId = await service.createSite(`${unique}.soak.example`);
    const markerSite = await service.createSite(`markers-${unique}.soak.example`);
    const reader = await service.readerFor([siteId, markerSite]);

    const ledger = new Ledger(options.batch, randomBytes(4).toString('hex'));
    const statuses = new Map<string, number>();
    let lastAck = 0;
    const durationMs = options.minutes * 60_000;
    const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const sendNext = async () => {
      const { request, ids } = ledger.take();
      const response = await postEvents(
        url,
        siteId,
        ids,
        () => hourStart + Math.floor(Math.random() * 3_600_000),
      );
      const status = response ? String(response.status) : 'no answer';
      statuses.set(status, (statuses.get(status) ?? 0) + ids.length);
      if (response?.status === 202) {
        ledger.acked.push(request);
        lastAck = Date.now();
      }
      await response?.body?.cancel();
    };
    let sending = true;
    const traffic = (async () => {
      const inFlight = new Set<Promise<void>>();
      const intervalMs = (1000 * options.batch) / options.rate;
      let next = Date.now();
      while (sending) {
        const p = sendNext().finally(() => inFlight.delete(p));
        inFlight.add(p);
        next += intervalMs;
        await sleep(Math.max(0, next - Date.now()));
      }
      await Promise.all(inFlight);
    })();

    // The live numbers of the marker site: pageviews of today and tomorrow (UTC) in its timeseries.
    const dayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const markerQuery = new URLSearchParams({
      metrics: 'pageviews',
      interval: 'day',
      from: new Date(dayStart).toISOString(),
      to: new Date(dayStart + 2 * 86_400_000).toISOString(),
    });
    const livePageviews = async () => {
      const response = await fetch(`${url}/v1/sites/${markerSite}/timeseries?${markerQuery}`, {
        headers: reader,
      });
      if (!response.ok) return -1;
      const { results } = (await response.json()) as { results: { pageviews: number }[] };
      return results.reduce((sum, r) => sum + r.pageviews, 0);
    };
    let markers = 0;
    const recovery = async (fault: FaultResult) => {
      fault.cleared = Date.now();
      const cleared = fault.cleared;
      const ingest = until(async () => lastAck > cleared, 180_000, 100).then((t) => {
        fault.ingestRecovered = t && lastAck;
      });
      const marker = await until(
        async () => (await postEvents(url, markerSite, [randomUUID()], Date.now))?.status === 202,
        180_000,
      );
      if (marker) {
        const expected = ++markers;
        fault.speedRecovered = await until(async () => (await livePageviews()) >= expected, 600_000, 500);
      }
      await ingest;
    };

    const faults: FaultResult[] = [];
    const started = Date.now();
    const fault = async (slot: number, name: string, inject: () => Promise<void>) => {
      await sleep(Math.max(0, started + (slot * durationMs) / 5 - Date.now()));
      const result: FaultResult = { name, at: Date.now() };
      faults.push(result);
      log(name);
      await inject();
      await recovery(result);
    };

    await fault(1, `Kafka stopped ${options.kafkaDownSeconds} s (spool fills: 503)`, async () => {
      await kafka?.stop();
      kafka = undefined;
      await sleep(options.kafkaDownSeconds * 1000);
      kafka = await startKafka();
    });
    let redisBack = 0;
    let rateLimitBack: Promise<number | undefined> = Promise.resolve(undefined);
    await fault(2, `Redis stopped ${options.redisDownSeconds} s, restarted empty`, async () => {
      await redis.restart(options.redisDownSeconds * 1000);
      redisBack = Date.now();
      // rate-limiter-flexible's key for the site: the counter ingest writes on every request.
      rateLimitBack = until(() => redis.exists(`sightline:rl:site:${siteId}`), 60_000, 100);
    });
    await fault(3, 'service kill -9 and restart', async () => {
      await stopProcess(child, 'SIGKILL');
      await startService();
    });
    await fault(4, '500 malformed messages to the topic', async () => {
      const producer = new Kafka({ brokers: [kafka!.brokers], logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      await producer.send({
        topic: env.KAFKA_EVENTS_TOPIC!,
        messages: Array.from({ length: 500 }, (_, i) => ({
          value: i % 2 ? `{"site_id":"${siteId}","broken` : Buffer.from([0xff, 0x00, i % 256]),
        })),
      });
      await producer.disconnect();
    });

    await sleep(Math.max(0, started + durationMs - Date.now()));
    sending = false;
    await traffic;
    log(`Traffic done: ${ledger.ackedEvents} events acknowledged; waiting for events_raw…`);

    const trafficEnd = Date.now();
    const found = await service.waitStored(reader, siteId, ledger, options.drainSeconds * 1000);
    const drained = Date.now();
    const committed = await service.commitHour(hourStart, 900_000);
    const counts = await service.hourCounts(reader, siteId, hourStart);
    const day = new Date().toISOString().slice(0, 10);
    const rateLimitAt = await rateLimitBack;
    const result: SoakResult = {
      options,
      statuses,
      acked: ledger.ackedEvents,
      found,
      ...counts,
      hour: new Date(hourStart).toISOString(),
      drainSeconds: (drained - trafficEnd) / 1000,
      commitSeconds: (Date.now() - drained) / 1000,
      committed,
      watermark: JSON.stringify(await service.sql(reader, siteId, 'SELECT * FROM watermark')),
      faults,
      ...(rateLimitAt && { rateLimitBack: (rateLimitAt - redisBack) / 1000 }),
      saltBack: await redis.exists(`sightline:salt:${day}`),
      refusals: [...statuses.entries()].filter(([s]) => !['202', '503', '429', 'no answer'].includes(s)),
      ok: false,
    };
    result.ok =
      result.found === result.acked &&
      result.refusals.length === 0 &&
      result.committed &&
      result.rollup === result.counted &&
      faults.every((f) => f.ingestRecovered && f.speedRecovered);
    return result;
  } finally {
    await stopProcess(child, 'SIGTERM');
    await kafka?.stop();
    await redis.stop();
    await serviceLog.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const seconds = (from?: number, to?: number) =>
  from && to ? ((to - from) / 1000).toFixed(1) : 'not recovered';

/** The run's figures as Markdown, as bench/RESULTS.md records them. */
export function soakSummary(result: SoakResult): string {
  const { options } = result;
  const table = [
    '| fault | fault lasted (s: start → cleared, restart included) | ingest recovery (s: cleared → next 202) | speed recovery (s: cleared → new event in the timeseries) |',
    '|---|---:|---:|---:|',
    ...result.faults.map(
      (f) =>
        `| ${f.name} | ${seconds(f.at, f.cleared)} | ${seconds(f.cleared, f.ingestRecovered)} | ${seconds(f.cleared, f.speedRecovered)} |`,
    ),
  ];
  const duplicates = result.rows - result.distinctIds;
  return [
    `### Soak, ${new Date().toISOString().slice(0, 16)}Z: \`npm run soak -- --minutes ${options.minutes} --rate ${options.rate}\``,
    '',
    `- events sent by answer (${options.batch} a request): ${[...result.statuses.entries()].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    `- acknowledged (202): ${result.acked}; in events_raw: ${result.found}; lost: ${result.acked - result.found}`,
    `- rows in events_raw for the site: ${result.rows}; distinct event_ids: ${result.distinctIds} (${duplicates} duplicate rows: at-least-once delivery; ${result.distinctIds - result.found} stored ids whose 202 never reached the client)`,
    `- events_raw complete ${result.drainSeconds.toFixed(0)} s after the traffic; batch commit of the hour ${result.hour} after the Redis restart (BullMQ): ${result.committed ? 'committed' : 'NOT committed'} in ${result.commitSeconds.toFixed(0)} s; watermark ${result.watermark}`,
    `- pageviews of that hour in the merged rollup (view hourly, source ${result.sources}): ${result.rollup}; distinct non-bot event_ids: ${result.counted}; ${result.rollup === result.counted ? 'each counted exactly once' : `MISMATCH by ${result.rollup - result.counted}`}`,
    `- after the Redis restart: the site's rate-limit counter back in Redis after ${result.rateLimitBack?.toFixed(1) ?? 'never'} s; today's visitor salt in Redis at the end: ${result.saltBack ? 'yes' : 'no'}`,
    `- answers other than 202/503/429/no answer: ${result.refusals.length ? result.refusals.map(([s, n]) => `${s}×${n}`).join(', ') : 'none'}`,
    '',
    ...table,
    '',
  ].join('\n');
}
