import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queryAggregate } from '../query/aggregate.query.js';
import { filtersParamSchema } from '../query/filters.js';
import type { Metric } from '../query/metrics.js';
import { metricListSchema } from '../query/metrics.js';
import {
  answer,
  MAX_RANGE_DAYS,
  type QueryService,
  rangeShape,
  resolveUnits,
  siteParamsSchema,
  warnings,
} from '../query/request.js';
import { DAY_MS, formatInZone, HOUR_MS, previousPeriod } from '../query/time.js';
import { errorSchema } from './docs.js';

const querySchema = z.strictObject({
  metrics: metricListSchema.default(['visitors', 'pageviews']),
  ...rangeShape,
  filters: filtersParamSchema.optional(),
  compare: z.enum(['previous_period']).optional(),
});

/** The change from the previous period in percent, rounded to 0.1; null where it had nothing. */
function change(value: number, previous: number): number | null {
  if (previous === 0) return value === 0 ? 0 : null;
  return Math.round(((value - previous) / previous) * 1000) / 10;
}

/** GET /v1/sites/:site/aggregate: totals over a range, optionally with the previous period. */
export const aggregateRoutes =
  (service: QueryService): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/v1/sites/:site/aggregate',
      {
        schema: {
          summary: 'Totals over a range',
          description:
            'Each metric as {value}, with compare=previous_period also {comparison_value, change} ' +
            '(change in percent, null when the previous period had 0). Unique visitors are merged ' +
            'over the range, never added up per hour.',
          tags: ['query'],
          security: [{ bearer: [] }],
          params: siteParamsSchema,
          querystring: querySchema,
          response: { 200: z.unknown(), 400: errorSchema, 404: errorSchema, 503: errorSchema },
        },
      },
      (request, reply) =>
        answer(reply, async () => {
          const site = request.params.site;
          const q = request.query;
          const tz = await service.zone(site, q.tz);
          const maxMs = MAX_RANGE_DAYS * DAY_MS;
          const units = resolveUnits(q.from, q.to, tz, HOUR_MS, maxMs);
          const filters = q.filters ?? [];
          const previous = q.compare ? previousPeriod(q.from, q.to, tz) : undefined;
          const prevUnits = previous
            ? resolveUnits(previous.from, previous.to, tz, HOUR_MS, maxMs)
            : undefined;
          const [watermark, totals, prevTotals] = await Promise.all([
            service.authoritativeUntil(),
            queryAggregate(service.context(), { siteId: site, metrics: q.metrics, units, filters }),
            prevUnits
              ? queryAggregate(service.context(), {
                  siteId: site,
                  metrics: q.metrics,
                  units: prevUnits,
                  filters,
                })
              : undefined,
          ]);
          const results: Partial<
            Record<Metric, { value: number; comparison_value?: number; change?: number | null }>
          > = {};
          for (const m of q.metrics) {
            results[m] = prevTotals
              ? {
                  value: totals[m],
                  comparison_value: prevTotals[m],
                  change: change(totals[m], prevTotals[m]),
                }
              : { value: totals[m] };
          }
          const notes = warnings(q.metrics, units.last, watermark);
          return {
            site_id: site,
            tz,
            from: formatInZone(units.first, tz),
            to: formatInZone(units.last + HOUR_MS, tz),
            authoritative_until: watermark?.toISOString() ?? null,
            results,
            ...(prevUnits
              ? {
                  comparison: {
                    from: formatInZone(prevUnits.first, tz),
                    to: formatInZone(prevUnits.last + HOUR_MS, tz),
                  },
                }
              : {}),
            ...(notes.length ? { warnings: notes } : {}),
          };
        }),
    );
  };
