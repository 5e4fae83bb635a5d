import type { Redis } from '@sightline/core';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ResponseCache } from '../cache.js';
import { type QueryRoutesDeps, QueryService } from '../query/request.js';
import { aggregateRoutes } from './aggregate.js';
import { breakdownRoutes } from './breakdown.js';
import { realtimeRoutes } from './realtime.js';
import { timeseriesRoutes } from './timeseries.js';
import { v2QueryRoutes } from './v2-query.js';

/** Every read of metrics: timeseries, aggregate, breakdown, realtime and the Plausible v2 query. */
export const queryRoutes =
  (deps: QueryRoutesDeps & { redis?: Redis }): FastifyPluginAsync =>
  async (app) => {
    const service = new QueryService(deps);
    if (deps.redis) cacheAuthoritativeAnswers(app, service, deps.redis);
    await app.register(timeseriesRoutes(service));
    await app.register(aggregateRoutes(service));
    await app.register(breakdownRoutes(service));
    await app.register(realtimeRoutes(service));
    await app.register(v2QueryRoutes(service));
  };

/**
 * Answers whose whole range lies before the watermark (the routes mark them final) cannot change
 * until a batch commit, so they are kept in Redis keyed by the request and the batch version (the
 * watermark and the last commit): a reprocess or a late re-commit makes the old entries unreachable.
 * Live answers are never kept. The request is answered at the version its lookup used. These hooks
 * run after the read-auth hooks, so a cached answer is only served to a key that reads its site.
 */
function cacheAuthoritativeAnswers(
  app: Parameters<FastifyPluginAsync>[0],
  service: QueryService,
  redis: Redis,
): void {
  const cache = new ResponseCache(redis, { prefix: 'sightline:answers', ttlSeconds: 3600 });
  const key = (request: FastifyRequest) =>
    `${request.method} ${request.url}\n${request.headers.accept ?? ''}\n${JSON.stringify(request.body ?? null)}`;

  app.addHook('preHandler', async (request, reply) => {
    const current = await service.versionOf(request).catch(() => undefined);
    if (!current) return;
    const hit = await cache.get(key(request), current);
    if (hit !== null) return reply.header('x-cache', 'hit').type('application/json').send(hit);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.finalAnswer || !request.batchVersion || reply.statusCode !== 200) return payload;
    if (
      typeof payload !== 'string' ||
      !String(reply.getHeader('content-type')).startsWith('application/json')
    )
      return payload;
    await cache.put(key(request), request.batchVersion, payload);
    return payload;
  });
}
