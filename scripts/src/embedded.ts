import path from 'node:path';
import {
  ClickHousePool,
  type Config,
  createClickHouse,
  createKafka,
  createRedis,
  ensureEventsTopic,
  httpError,
  type Logger,
} from '@sightline/core';
import { DurableEventSink, ingestPlugin, KafkaEventSink, Spool, VisitorSalts } from '@sightline/ingest';
import { servingPlugin } from '@sightline/serving';
import { applySchema } from '@sightline/speed-layer';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { healthRoutes } from './health.js';

export interface Embedded {
  app: FastifyInstance;
  /** The address the app listens on, e.g. http://127.0.0.1:8080. */
  url: string;
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
  const redis = createRedis(config);
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

  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Behind a load balancer or CDN the client address is in X-Forwarded-For; enrichment needs it.
    trustProxy: true,
    // One log line per request is too much at thousands of events per second; failures are
    // logged by the error handler.
    disableRequestLogging: true,
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = httpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ code: body.error.code }, error.message);
    return reply.code(status).send(body);
  });
  await app.register(
    ingestPlugin({ sink, salts: new VisitorSalts(redis), logger: logger.child({ role: 'ingest' }) }),
  );
  await app.register(servingPlugin({ pool }));
  await app.register(
    healthRoutes({
      clickhouse: () => pool.client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json()),
      redis: () => redis.ping(),
      kafka: async () => {
        const admin = kafka.admin();
        await admin.connect();
        await admin.describeCluster().finally(() => admin.disconnect());
      },
    }),
  );
  app.addHook('onClose', async () => {
    await sink.close();
    redis.disconnect();
    await pool.close();
    await schemaClient.close();
  });

  const url = await app.listen({ port: config.PORT, host: config.HOST });
  return { app, url, close: () => app.close() };
}
