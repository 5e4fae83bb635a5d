import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queryRealtime } from '../query/realtime.query.js';
import { answer, authoritativeUntil, type QueryService, siteParamsSchema } from '../query/request.js';
import { timeZoneSchema } from '../query/time.js';
import { errorSchema } from './docs.js';

/** GET /v1/sites/:site/realtime: current visitors and the last 30 minutes by minute. */
export const realtimeRoutes =
  (service: QueryService): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/v1/sites/:site/realtime',
      {
        schema: {
          summary: 'Current visitors and the last 30 minutes',
          description:
            'current_visitors: distinct visitors of the last 5 minutes (the current one included); ' +
            'minutes: visitors, pageviews and events of each of the last 30 minutes, oldest first. ' +
            'Live numbers from the speed layer (approximate: client retries count twice).',
          tags: ['query'],
          security: [{ bearer: [] }],
          params: siteParamsSchema,
          querystring: z.strictObject({ tz: timeZoneSchema.optional() }),
          response: { 200: z.unknown(), 400: errorSchema, 404: errorSchema, 503: errorSchema },
        },
      },
      (request, reply) =>
        answer(reply, async () => {
          const site = request.params.site;
          const [tz, split] = await Promise.all([
            service.zone(site, request.query.tz),
            service.splitOf(request),
          ]);
          const realtime = await queryRealtime(service.context(split), site, tz, Date.now());
          const until = authoritativeUntil(split.watermark);
          return { site_id: site, tz, authoritative_until: until?.toISOString() ?? null, ...realtime };
        }),
    );
  };
