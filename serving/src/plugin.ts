import {
  type ClickHouseClient,
  type ClickHousePool,
  type Config,
  type Redis,
  RedisRateLimit,
  type Site,
} from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { KeyCache } from './auth/key-cache.js';
import { installReadAuth } from './auth/read-auth.js';
import { adminRoutes } from './routes/admin.js';
import type { BatchControl } from './routes/batch-admin.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { useZodSchemas } from './routes/docs.js';
import { queryRoutes } from './routes/query-routes.js';
import type { ReplayControl } from './routes/replay-admin.js';
import { sitesListRoutes } from './routes/sites-list.js';
import { sqlRoutes } from './routes/sql.js';

export interface ServingDeps {
  pool: ClickHousePool;
  adminToken: string;
  /** Per-key rate limits and the response cache. */
  redis: Redis;
  config: Pick<
    Config,
    | 'RATE_LIMIT_KEY_PER_MINUTE'
    | 'API_KEY_CACHE_SECONDS'
    | 'SQL_MAX_EXECUTION_SECONDS'
    | 'SQL_MAX_RESULT_ROWS'
  >;
  /** A chDB connection of POST /v1/sql's own, made read-only for good; without it (cluster mode), no /v1/sql. */
  analyst?: ClickHouseClient;
  onSiteCreated?: (site: Site) => void;
  batch?: BatchControl;
  replay?: ReplayControl;
}

/** Every serving route, for the standalone serving app and for the embedded all-in-one app. */
export const servingPlugin =
  (deps: ServingDeps): FastifyPluginAsync =>
  async (app) => {
    // Routes declare zod schemas: they validate requests, encode answers and make the OpenAPI document.
    useZodSchemas(app);
    const keys = new KeyCache(() => deps.pool.client, deps.config.API_KEY_CACHE_SECONDS * 1000);
    // Before any route: every route of this context needs a key that reads its site (deny by default).
    installReadAuth(app, {
      adminToken: deps.adminToken,
      keys,
      limit: new RedisRateLimit(deps.redis, {
        prefix: 'key',
        perMinute: deps.config.RATE_LIMIT_KEY_PER_MINUTE,
      }),
    });
    await app.register(queryRoutes(deps));
    await app.register(sitesListRoutes(deps));
    await app.register(dashboardRoutes);
    if (deps.analyst) {
      const limits = {
        maxExecutionSeconds: deps.config.SQL_MAX_EXECUTION_SECONDS,
        maxResultRows: deps.config.SQL_MAX_RESULT_ROWS,
      };
      await app.register(sqlRoutes({ ch: deps.analyst, setup: deps.pool.client, limits }));
    }
    await app.register(
      adminRoutes({
        ch: deps.pool.client,
        adminToken: deps.adminToken,
        keys,
        onSiteCreated: deps.onSiteCreated,
        batch: deps.batch,
        replay: deps.replay,
      }),
    );
  };
