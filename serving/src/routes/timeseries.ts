import { type ClickHousePool, errorBody, readWatermark, siteIdSchema, zodDetails } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { type Interval, queryTimeseries, timeseriesMetrics } from '../timeseries.query.js';

const MAX_RANGE_MS = 400 * 86_400_000;
const stepMs: Record<Interval, number> = { hour: 3600_000, day: 86_400_000 };

const time = z.union(
  [
    z.iso.date().transform((d) => Date.parse(`${d}T00:00:00Z`)),
    z.iso.datetime({ offset: true }).transform((d) => Date.parse(d)),
  ],
  {
    error: (issue) =>
      issue.input === undefined ? 'required' : 'must be YYYY-MM-DD or ISO 8601 with a time zone',
  },
);

const querySchema = z
  .strictObject({
    metrics: z
      .string()
      .default('pageviews')
      .transform((s) => s.split(',').map((m) => m.trim()))
      .pipe(z.array(z.enum(timeseriesMetrics)).min(1)),
    interval: z.enum(['hour', 'day']).default('hour'),
    from: time,
    to: time,
  })
  .refine((q) => q.to > q.from, { message: 'must be after from', path: ['to'] })
  .refine((q) => q.to - q.from <= MAX_RANGE_MS, { message: 'range is longer than 400 days', path: ['to'] });

/** GET /v1/sites/:site/timeseries: metrics per hour or day bucket, UTC. */
export const timeseriesRoutes =
  (deps: { pool: ClickHousePool }): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Params: { site: string } }>('/v1/sites/:site/timeseries', async (request, reply) => {
      const site = siteIdSchema.safeParse(request.params.site);
      const query = querySchema.safeParse(request.query);
      if (!site.success || !query.success) {
        const details = [
          ...(site.success ? [] : zodDetails(site.error).map((d) => ({ ...d, path: 'site' }))),
          ...(query.success ? [] : zodDetails(query.error)),
        ];
        return reply
          .code(400)
          .send(
            errorBody('invalid_query', details.map((d) => `${d.path}: ${d.message}`).join('; '), details),
          );
      }
      const step = stepMs[query.data.interval];
      // Buckets start on whole intervals (UTC): widen the range outward to whole buckets.
      const from = Math.floor(query.data.from / step) * step;
      const to = Math.ceil(query.data.to / step) * step;
      const client = deps.pool.client;
      const [authoritativeUntil, results] = await Promise.all([
        readWatermark(client).then((w) => w?.toISOString() ?? null),
        queryTimeseries(client, {
          siteId: site.data,
          metrics: query.data.metrics,
          interval: query.data.interval,
          from,
          to,
        }),
      ]);
      return {
        site_id: site.data,
        interval: query.data.interval,
        authoritative_until: authoritativeUntil,
        results,
      };
    });
  };
