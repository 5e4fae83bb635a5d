import path from 'node:path';
import { BatchLayer } from '@sightline/batch-layer';
import {
  ClickHousePool,
  type Config,
  createClickHouse,
  createKafka,
  createRedis,
  ensureEventsTopic,
  frameworkErrors,
  installErrorHandling,
  type Logger,
  loadSites,
} from '@sightline/core';
import {
  createEnricher,
  createIngestMetrics,
  DurableEventSink,
  ingestPlugin,
  KafkaEventSink,
  RateLimits,
  SiteCache,
  Spool,
  spoolAge,
  VisitorSalts,
} from '@sightline/ingest';
import { openApiDocs, servingPlugin } from '@sightline/serving';
import {
  applySchema,
  ReplayRunner,
  type StreamStatus,
  startLagMonitor,
  streamStatus,
} from '@sightline/speed-layer';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { embeddedAdminToken } from './admin-token.js';
import { healthRoutes } from './health.js';

export interface Embedded {
  app: FastifyInstance;
  /** The address the app listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  adminToken: string;
  /** The serving connections, for in-process tools and tests. */
  clickhouse: ClickHousePool;
  close(): Promise<void>;
}

/**
 * The embedded mode: every role in this one process on one port. chDB's data directory belongs to
 * one process, so ingest, the speed layer's schema, and serving all share this process's engine
 * (each through its own connection).
 */
export async function startEmbedded(config: Config, logger: Logger): Promise<Embedded> {
  const kafka = createKafka(config, logger);
  await ensureEventsTopic(kafka, config);

  const schemaClient = createClickHouse(config);
  await applySchema(schemaClient, config, logger.child({ role: 'speed-layer' }));

  const pool = ClickHousePool.create(config, config.CLICKHOUSE_SERVING_CONNECTIONS);
  // POST /v1/sql runs analysts' queries on a chDB connection of its own, which it makes read-only for
  // good; a ClickHouse server gives analysts users of their own instead (npm run analyst-user).
  const analystClient = config.CLICKHOUSE_URL ? undefined : createClickHouse(config);
  const redis = createRedis(config);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const ingestLogger = logger.child({ role: 'ingest' });
  const spool = await Spool.open({
    dir: config.SPOOL_DIR ?? path.join(config.DATA_DIR, 'spool'),
    maxBytes: config.SPOOL_MAX_BYTES,
    logger: ingestLogger,
  });
  const sink = new DurableEventSink(
    await KafkaEventSink.connect(kafka, { topic: config.KAFKA_EVENTS_TOPIC }),
    spool,
    {
      produceDeadlineMs: config.PRODUCE_DEADLINE_MS,
      logger: ingestLogger,
    },
  );
  const sites = new SiteCache({ load: () => loadSites(schemaClient), logger: ingestLogger });
  await sites.start();
  const adminToken = config.ADMIN_TOKEN ?? (await embeddedAdminToken(config.DATA_DIR));

  // The batch layer's heavy recomputes get a ClickHouse connection of their own, so they never
  // queue the query API's reads, and a Redis connection BullMQ may block on.
  const batchClient = createClickHouse(config);
  const bullRedis = createRedis(config, { forBullMQ: true });
  const batch = await BatchLayer.start({
    config,
    ch: batchClient,
    redis: bullRedis,
    logger: logger.child({ role: 'batch-layer' }),
  });
  new Gauge({
    name: 'sightline_batch_watermark_delay_seconds',
    help: 'How far the batch watermark trails now: numbers older than this are authoritative.',
    registers: [registry],
    async collect() {
      const { watermark } = await batch.status();
      this.set(watermark ? (Date.now() - Date.parse(watermark)) / 1000 : Number.NaN);
    },
  });

  // One poll feeds the alert line and the /metrics gauges.
  let stream: StreamStatus | undefined;
  const stopLagMonitor = startLagMonitor({
    status: () => streamStatus(kafka, schemaClient, config.KAFKA_EVENTS_TOPIC, config.KAFKA_CONSUMER_GROUP),
    thresholdMessages: config.SPEED_LAG_ALERT,
    spoolAgeSeconds: () => spoolAge(spool.oldestReceivedAt),
    spoolAgeThresholdSeconds: config.SPEED_SPOOL_AGE_ALERT_SECONDS,
    intervalMs: 15_000,
    logger: logger.child({ role: 'speed-layer' }),
    onStatus: (status) => {
      stream = status;
    },
  });
  new Gauge({
    name: 'sightline_speed_consumer_lag',
    help: 'Messages in the events topic not yet committed by ClickHouse’s Kafka engine.',
    registers: [registry],
    collect() {
      this.set(stream?.lag ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'sightline_speed_dead_letters',
    help: 'Messages the Kafka engine could not parse, kept in events_dead_letter.',
    registers: [registry],
    collect() {
      this.set(stream?.deadLetters ?? Number.NaN);
    },
  });
  const replay = new ReplayRunner(
    { kafka, ch: schemaClient, logger: logger.child({ role: 'speed-layer', component: 'replay' }) },
    config.KAFKA_EVENTS_TOPIC,
  );

  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Behind a load balancer or CDN the client address is in X-Forwarded-For; enrichment needs it.
    trustProxy: true,
    // One log line per request is too much at thousands of events per second; failures are
    // logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
  });
  installErrorHandling(app);
  // First, so that the OpenAPI document at /docs sees every route registered after it.
  await app.register(openApiDocs);
  await app.register(
    ingestPlugin({
      sink,
      salts: new VisitorSalts(redis, ingestLogger),
      enricher: createEnricher(),
      sites,
      limits: new RateLimits(redis, {
        ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
        sitePerMinute: config.RATE_LIMIT_SITE_PER_MINUTE,
      }),
      metrics: createIngestMetrics(
        registry,
        () => sink.spoolBytes,
        () => spool.oldestReceivedAt,
      ),
      logger: ingestLogger,
      countryHeader: config.COUNTRY_HEADER,
    }),
  );
  await app.register(
    servingPlugin({
      pool,
      adminToken,
      redis,
      config,
      analyst: analystClient,
      onSiteCreated: (site) => sites.add(site),
      batch,
      replay,
    }),
  );
  await app.register(
    healthRoutes({
      clickhouse: {
        required: true,
        run: () => pool.client.query({ query: 'SELECT 1', format: 'JSONEachRow' }),
      },
      ingest: {
        required: true,
        run: async () => {
          if (!sink.writable) throw new Error('Kafka is unreachable and the spool is full');
        },
      },
      redis: { required: false, run: () => redis.ping() },
    }),
  );
  app.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );

  app.addHook('onClose', async () => {
    // Fastify has stopped accepting and drained in-flight requests by now: flush, then disconnect.
    sites.stop();
    await stopLagMonitor();
    await sink.close();
    await batch.close();
    bullRedis.disconnect();
    await batchClient.close();
    redis.disconnect();
    await pool.close();
    await analystClient?.close();
    await schemaClient.close();
  });

  const url = await app.listen({ port: config.PORT, host: config.HOST });
  return { app, url, adminToken, clickhouse: pool, close: () => app.close() };
}
