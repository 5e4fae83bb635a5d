import type { ClickHousePool, Site } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { adminRoutes } from './routes/admin.js';
import type { BatchControl } from './routes/batch-admin.js';
import { useZodSchemas } from './routes/docs.js';
import type { ReplayControl } from './routes/replay-admin.js';
import { timeseriesRoutes } from './routes/timeseries.js';

export interface ServingDeps {
  pool: ClickHousePool;
  adminToken: string;
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
    await app.register(timeseriesRoutes(deps));
    await app.register(
      adminRoutes({
        ch: deps.pool.client,
        adminToken: deps.adminToken,
        onSiteCreated: deps.onSiteCreated,
        batch: deps.batch,
        replay: deps.replay,
      }),
    );
  };
