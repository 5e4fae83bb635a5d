import path from 'node:path';
import { BatchLayer } from '@sightline/batch-layer';
import {
  type ClickHouseClient,
  ClickHousePool,
  type Config,
  ConfigError,
  createClickHouse,
  createKafka,
  createRedis,
  ensureEventsTopic,
  frameworkErrors,
  installErrorHandling,
  type Kafka,
  type Logger,
  loadSites,
  type Redis,
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
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { embeddedAdminToken } from './admin-token.js';
import { type Check, healthRoutes } from './health.js';

/**
 * The four roles of the service, each built by one function from what its process shares. The
 * embedded mode composes all four in one process on one port; `role.ts` runs any of them alone
 * (cluster mode: one container per role) with the same wiring.
 */
export const roleNames = ['ingest', 'speed', 'batch', 'serving'] as const;
export type RoleName = (typeof roleNames)[number];

/** `ingest,serving` → the roles; an unknown name is a ConfigError naming it. */
export function parseRoles(value: string): RoleName[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !(roleNames as readonly string[]).includes(r));
  if (unknown.length || roles.length === 0)
    throw new ConfigError(
      `--role: unknown role ${unknown.join(', ') || '(none)'}; one of ${roleNames.join(', ')}`,
    );
  return roles as RoleName[];
}

/** Applies the migrations and stops: the one-shot step before the roles of a cluster start. */
export async function migrateOnly(config: Config, logger: Logger): Promise<void> {
  await ensureEventsTopic(createKafka(config, logger), config);
  const ch = createClickHouse(config);
  try {
    await applySchema(ch, config, logger.child({ role: 'speed-layer' }));
  } finally {
    await ch.close();
  }
}

/** What the roles of one process share; a role that others need leaves its part here. */
export interface RoleContext {
  config: Config;
  logger: Logger;
  registry: Registry;
  kafka: Kafka;
  redis: Redis;
  /** The connection that applied the schema: site lookups, stream status, replay. */
  schemaClient: ClickHouseClient;
  /** Ingest's spool, for the speed layer's spool-age alert (same process only). */
  spool?: Spool;
  sites?: SiteCache;
  batch?: BatchLayer;
  replay?: ReplayRunner;
}

export interface RoleParts {
  /** Route plugins, registered in role order after the OpenAPI document. */
  plugins: FastifyPluginAsync[];
  /** Readiness checks; a check required by any role of the process is required. */
  checks: Record<string, Check>;
  /** Called once the app has stopped taking requests, in role order. */
  close(): Promise<void>;
  /** The admin token, for the serving role. */
  adminToken?: string;
  /** The query API's connections, for the serving role. */
  pool?: ClickHousePool;
}

async function ingestRole(ctx: RoleContext): Promise<RoleParts> {
  const { config } = ctx;
  const ingestLogger = ctx.logger.child({ role: 'ingest' });
  const spool = await Spool.open({
    dir: config.SPOOL_DIR ?? path.join(config.DATA_DIR, 'spool'),
    maxBytes: config.SPOOL_MAX_BYTES,
    logger: ingestLogger,
  });
  const sink = new DurableEventSink(
    await KafkaEventSink.connect(ctx.kafka, { topic: config.KAFKA_EVENTS_TOPIC }),
    spool,
    { produceDeadlineMs: config.PRODUCE_DEADLINE_MS, logger: ingestLogger },
  );
  const sites = new SiteCache({ load: () => loadSites(ctx.schemaClient), logger: ingestLogger });
  await sites.start();
  ctx.spool = spool;
  ctx.sites = sites;
  return {
    plugins: [
      ingestPlugin({
        sink,
        salts: new VisitorSalts(ctx.redis, ingestLogger),
        enricher: createEnricher(),
        sites,
        limits: new RateLimits(ctx.redis, {
          ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
          sitePerMinute: config.RATE_LIMIT_SITE_PER_MINUTE,
        }),
        metrics: createIngestMetrics(
          ctx.registry,
          () => sink.spoolBytes,
          () => spool.oldestReceivedAt,
        ),
        logger: ingestLogger,
        countryHeader: config.COUNTRY_HEADER,
      }),
    ],
    checks: {
      // Ingest keeps accepting while ClickHouse is down (Kafka or the spool hold the events).
      clickhouse: { required: false, run: () => selectOne(ctx.schemaClient) },
      ingest: {
        required: true,
        run: async () => {
          if (!sink.writable) throw new Error('Kafka is unreachable and the spool is full');
        },
      },
    },
    async close() {
      sites.stop();
      // Flushes what is in flight to Kafka or the spool.
      await sink.close();
    },
  };
}

/**
 * The batch layer. Every batch process declares the same BullMQ job schedulers (upsert by id, so
 * there is one schedule however many run) and works the one queue: each job goes to one worker,
 * recompute jobs have one id per hour and scope, and a recompute is idempotent (a new run id,
 * committed atomically), so more workers never double-count an hour.
 */
async function batchRole(ctx: RoleContext): Promise<RoleParts> {
  // The heavy recomputes get a ClickHouse connection of their own, so they never queue the query
  // API's reads, and a Redis connection BullMQ may block on.
  const batchClient = createClickHouse(ctx.config);
  const bullRedis = createRedis(ctx.config, {
    forBullMQ: true,
    logger: ctx.logger.child({ redis: 'batch' }),
  });
  const batch = await BatchLayer.start({
    config: ctx.config,
    ch: batchClient,
    redis: bullRedis,
    logger: ctx.logger.child({ role: 'batch-layer' }),
  });
  ctx.batch = batch;
  new Gauge({
    name: 'sightline_batch_watermark_delay_seconds',
    help: 'How far the batch watermark trails now: numbers older than this are authoritative.',
    registers: [ctx.registry],
    async collect() {
      const { watermark } = await batch.status();
      this.set(watermark ? (Date.now() - Date.parse(watermark)) / 1000 : Number.NaN);
    },
  });
  return {
    plugins: [],
    checks: { clickhouse: { required: true, run: () => selectOne(batchClient) } },
    async close() {
      await batch.close();
      bullRedis.disconnect();
      await batchClient.close();
    },
  };
}

/**
 * The speed layer's process part: ClickHouse's Kafka engine does the streaming (the schema is
 * applied by every process, see startRoles); this role watches it (consumer lag, dead letters,
 * spool age) and runs replays.
 */
async function speedRole(ctx: RoleContext): Promise<RoleParts> {
  const { config } = ctx;
  const speedLogger = ctx.logger.child({ role: 'speed-layer' });
  // One poll feeds the alert line and the /metrics gauges.
  let stream: StreamStatus | undefined;
  const spool = ctx.spool;
  const stopLagMonitor = startLagMonitor({
    status: () =>
      streamStatus(ctx.kafka, ctx.schemaClient, config.KAFKA_EVENTS_TOPIC, config.KAFKA_CONSUMER_GROUP),
    thresholdMessages: config.SPEED_LAG_ALERT,
    ...(spool && { spoolAgeSeconds: () => spoolAge(spool.oldestReceivedAt) }),
    spoolAgeThresholdSeconds: config.SPEED_SPOOL_AGE_ALERT_SECONDS,
    intervalMs: 15_000,
    logger: speedLogger,
    onStatus: (status) => {
      stream = status;
    },
  });
  new Gauge({
    name: 'sightline_speed_consumer_lag',
    help: 'Messages in the events topic not yet committed by ClickHouse’s Kafka engine.',
    registers: [ctx.registry],
    collect() {
      this.set(stream?.lag ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'sightline_speed_dead_letters',
    help: 'Messages the Kafka engine could not parse, kept in events_dead_letter.',
    registers: [ctx.registry],
    collect() {
      this.set(stream?.deadLetters ?? Number.NaN);
    },
  });
  ctx.replay = new ReplayRunner(
    { kafka: ctx.kafka, ch: ctx.schemaClient, logger: speedLogger.child({ component: 'replay' }) },
    config.KAFKA_EVENTS_TOPIC,
  );
  return {
    plugins: [],
    checks: { clickhouse: { required: true, run: () => selectOne(ctx.schemaClient) } },
    close: () => stopLagMonitor(),
  };
}

/** The query API, the admin API and the dashboard; batch and replay admin when those roles share the process. */
async function servingRole(ctx: RoleContext): Promise<RoleParts> {
  const { config } = ctx;
  const pool = ClickHousePool.create(config, config.CLICKHOUSE_SERVING_CONNECTIONS);
  // POST /v1/sql runs analysts' queries on a chDB connection of its own, which it makes read-only for
  // good; a ClickHouse server gives analysts users of their own instead (npm run analyst-user).
  const analystClient = config.CLICKHOUSE_URL ? undefined : createClickHouse(config);
  const adminToken = config.ADMIN_TOKEN ?? (await embeddedAdminToken(config.DATA_DIR));
  const sites = ctx.sites;
  return {
    plugins: [
      servingPlugin({
        pool,
        adminToken,
        redis: ctx.redis,
        config,
        analyst: analystClient,
        ...(sites && { onSiteCreated: (site) => sites.add(site) }),
        batch: ctx.batch,
        replay: ctx.replay,
      }),
    ],
    checks: { clickhouse: { required: true, run: () => selectOne(pool.client) } },
    async close() {
      await pool.close();
      await analystClient?.close();
    },
    adminToken,
    pool,
  };
}

const builders: Record<RoleName, (ctx: RoleContext) => Promise<RoleParts>> = {
  ingest: ingestRole,
  batch: batchRole,
  speed: speedRole,
  serving: servingRole,
};

/** Ingest first (the speed layer watches its spool), serving last (it needs batch and replay). */
const buildOrder: RoleName[] = ['ingest', 'batch', 'speed', 'serving'];

export interface RunningRoles {
  app: FastifyInstance;
  url: string;
  roles: RoleName[];
  /** Set when the process serves: the admin token and the query API's connections. */
  adminToken?: string;
  pool?: ClickHousePool;
  close(): Promise<void>;
}

/**
 * Starts the given roles in this process on one port: the schema first (every process applies the
 * migrations; they are a no-op once applied, so whichever role starts first makes the schema), then
 * each role, then one app with their routes, /health, /ready and /metrics.
 */
export async function startRoles(
  config: Config,
  logger: Logger,
  roles: readonly RoleName[],
): Promise<RunningRoles> {
  const wanted = buildOrder.filter((r) => roles.includes(r));
  const kafka = createKafka(config, logger);
  await ensureEventsTopic(kafka, config);
  const schemaClient = createClickHouse(config);
  await applySchema(schemaClient, config, logger.child({ role: 'speed-layer' }));
  const redis = createRedis(config, { logger });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const ctx: RoleContext = { config, logger, registry, kafka, redis, schemaClient };
  const parts: RoleParts[] = [];
  for (const role of wanted) parts.push(await builders[role](ctx));

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
  for (const part of parts) for (const plugin of part.plugins) await app.register(plugin);
  await app.register(healthRoutes(mergeChecks(parts, redis)));
  const requests = new Histogram({
    name: 'sightline_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status: error rates and slow queries.',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: one series per route, whatever the site or query.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );

  app.addHook('onClose', async () => {
    // Fastify has stopped accepting and drained in-flight requests by now: flush, then disconnect.
    for (const part of parts) await part.close();
    redis.disconnect();
    await schemaClient.close();
  });

  const url = await app.listen({ port: config.PORT, host: config.HOST });
  const serving = parts.find((p) => p.pool);
  return {
    app,
    url,
    roles: wanted,
    ...(serving?.adminToken && { adminToken: serving.adminToken }),
    ...(serving?.pool && { pool: serving.pool }),
    close: () => app.close(),
  };
}

/** Redis is reported, never required: ingest keeps accepting without it. */
function mergeChecks(parts: RoleParts[], redis: Redis): Record<string, Check> {
  const checks: Record<string, Check> = {};
  for (const part of parts) {
    for (const [name, check] of Object.entries(part.checks)) {
      const seen = checks[name];
      checks[name] = seen ? { run: seen.run, required: seen.required || check.required } : check;
    }
  }
  checks.redis = { required: false, run: () => redis.ping() };
  return checks;
}

function selectOne(ch: ClickHouseClient) {
  return ch.query({ query: 'SELECT 1', format: 'JSONEachRow' });
}
