import type { FastifyPluginAsync } from 'fastify';
import { type QueryRoutesDeps, QueryService } from '../query/request.js';
import { aggregateRoutes } from './aggregate.js';
import { breakdownRoutes } from './breakdown.js';
import { realtimeRoutes } from './realtime.js';
import { timeseriesRoutes } from './timeseries.js';
import { v2QueryRoutes } from './v2-query.js';

/** Every read of metrics: timeseries, aggregate, breakdown, realtime and the Plausible v2 query. */
export const queryRoutes =
  (deps: QueryRoutesDeps): FastifyPluginAsync =>
  async (app) => {
    const service = new QueryService(deps);
    await app.register(timeseriesRoutes(service));
    await app.register(aggregateRoutes(service));
    await app.register(breakdownRoutes(service));
    await app.register(realtimeRoutes(service));
    await app.register(v2QueryRoutes(service));
  };
