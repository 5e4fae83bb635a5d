import type { ClickHousePool } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { timeseriesRoutes } from './routes/timeseries.js';

export interface ServingDeps {
  pool: ClickHousePool;
}

/** Every serving route, for the standalone serving app and for the embedded all-in-one app. */
export const servingPlugin =
  (deps: ServingDeps): FastifyPluginAsync =>
  async (app) => {
    await app.register(timeseriesRoutes(deps));
  };
