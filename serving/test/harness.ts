import {
  ClickHousePool,
  type Config,
  createClickHouse,
  createRedis,
  installErrorHandling,
  migrate,
  type Redis,
} from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { openApiDocs, servingPlugin } from '../src/index.js';

export interface ServingHarness {
  app: FastifyInstance;
  config: Config;
  pool: ClickHousePool;
  redis: Redis;
  adminToken: string;
  /** Every route the app registered (hidden ones too), for tests that walk them all. */
  routes: { method: string; url: string; public: boolean }[];
  /** POST /v1/admin/sites; answers the site id. */
  createSite(domain: string): Promise<string>;
  /** POST /v1/admin/keys; answers the key and its id. */
  createKey(body: Record<string, unknown>): Promise<{ key: string; key_id: string }>;
  close(): Promise<void>;
}

/** The serving routes on a fresh chDB directory with every migration applied, and the shared Redis. */
export async function servingHarness(
  name: string,
  overrides: Record<string, string> = {},
): Promise<ServingHarness> {
  const stack = await testStack(name, overrides);
  const { config } = stack;
  const pool = ClickHousePool.create(config, 2);
  await migrate(pool.client, {
    variables: {
      kafka_brokers: config.KAFKA_BROKERS!,
      events_topic: config.KAFKA_EVENTS_TOPIC,
      consumer_group: config.KAFKA_CONSUMER_GROUP,
      kafka_consumers: 1,
    },
  });
  const redis = createRedis(config);
  const analyst = createClickHouse(config);
  const adminToken = config.ADMIN_TOKEN!;
  const app = Fastify();
  const routes: ServingHarness['routes'] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({ method, url: route.url, public: route.config?.auth === 'public' });
  });
  installErrorHandling(app);
  await app.register(openApiDocs);
  await app.register(servingPlugin({ pool, adminToken, redis, config, analyst }));
  await app.ready();
  const admin = { authorization: `Bearer ${adminToken}` };
  return {
    app,
    config,
    pool,
    redis,
    adminToken,
    routes,
    async createSite(domain) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/admin/sites',
        headers: admin,
        payload: { domain },
      });
      if (response.statusCode !== 201) throw new Error(`site not created: ${response.body}`);
      return response.json<{ site_id: string }>().site_id;
    },
    async createKey(body) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        headers: admin,
        payload: body,
      });
      if (response.statusCode !== 201) throw new Error(`key not created: ${response.body}`);
      return response.json<{ key: string; key_id: string }>();
    },
    async close() {
      await app.close();
      redis.disconnect();
      await analyst.close();
      await pool.close();
      await stack.cleanup();
    },
  };
}
