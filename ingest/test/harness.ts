import path from 'node:path';
import {
  type Config,
  createKafka,
  createLogger,
  createRedis,
  ensureEventsTopic,
  installErrorHandling,
  type Site,
  type StoredEvent,
} from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { DurableEventSink } from '../src/durable-sink.js';
import { createEnricher } from '../src/enrichment/index.js';
import { KafkaEventSink } from '../src/event-producer.js';
import { createIngestMetrics } from '../src/metrics.js';
import { type IngestDeps, ingestPlugin } from '../src/plugin.js';
import { RateLimits } from '../src/rate-limits.js';
import { SiteCache } from '../src/site-cache.js';
import { Spool } from '../src/spool.js';
import { VisitorSalts } from '../src/visitor-salt.js';

export interface IngestHarness {
  app: FastifyInstance;
  config: Config;
  kafka: Kafka;
  sink: DurableEventSink;
  registry: Registry;
  /** Every message on the test's topic, read from the beginning until `count` arrived or the wait ran out. */
  readTopic(count: number, waitMs?: number): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/**
 * The ingest routes on the real Kafka and Redis that `npm test` started, with their own topic, spool
 * folder and rate-limit keys. The site list is given here rather than read from ClickHouse: that
 * path belongs to the admin API and is covered end to end.
 */
export async function ingestHarness(
  name: string,
  sites: Site[],
  overrides: Record<string, string> = {},
  deps: Pick<IngestDeps, 'bodyBudget'> = {},
): Promise<IngestHarness> {
  const stack = await testStack(name, overrides);
  const { config } = stack;
  const logger = createLogger(config);
  const kafka = createKafka(config, logger);
  await ensureEventsTopic(kafka, config);
  const redis = createRedis(config);
  const registry = new Registry();
  const spool = await Spool.open({
    dir: path.join(config.DATA_DIR, 'spool'),
    maxBytes: config.SPOOL_MAX_BYTES,
    logger,
  });
  const sink = new DurableEventSink(
    await KafkaEventSink.connect(kafka, { topic: config.KAFKA_EVENTS_TOPIC }),
    spool,
    {
      produceDeadlineMs: config.PRODUCE_DEADLINE_MS,
      logger,
    },
  );
  const siteCache = new SiteCache({ load: async () => sites, logger });
  await siteCache.start();
  const app = Fastify({ trustProxy: true });
  installErrorHandling(app);
  await app.register(
    ingestPlugin({
      sink,
      salts: new VisitorSalts(redis, logger),
      enricher: createEnricher(),
      sites: siteCache,
      // Keys of their own per run, so limits counted in Redis by earlier runs never leak in.
      limits: new RateLimits(redis, {
        ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
        sitePerMinute: config.RATE_LIMIT_SITE_PER_MINUTE,
      }),
      metrics: createIngestMetrics(registry, () => sink.spoolBytes),
      logger,
      countryHeader: config.COUNTRY_HEADER,
      ...deps,
    }),
  );
  await app.ready();

  return {
    app,
    config,
    kafka,
    sink,
    registry,
    async readTopic(count, waitMs = 10_000) {
      const consumer = kafka.consumer({
        groupId: `read-${config.KAFKA_EVENTS_TOPIC}-${Date.now()}`,
        maxWaitTimeInMs: 100,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: config.KAFKA_EVENTS_TOPIC, fromBeginning: true });
      const events: StoredEvent[] = [];
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        void consumer.run({
          eachMessage: async ({ message }) => {
            // Several events per message, one JSON row each (see toMessages).
            for (const row of String(message.value).split('\n')) events.push(JSON.parse(row) as StoredEvent);
            if (events.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await consumer.disconnect();
      return events;
    },
    async close() {
      await app.close();
      siteCache.stop();
      await sink.close();
      redis.disconnect();
      await stack.cleanup();
    },
  };
}

export function site(overrides: Partial<Site> = {}): Site {
  return {
    site_id: 's_shop',
    domain: 'shop.example',
    timezone: 'UTC',
    allowed_hostnames: [],
    created_at: '2026-01-01 00:00:00.000',
    ...overrides,
  };
}
