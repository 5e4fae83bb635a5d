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
  siteParamsSchema,
  warnings,
} from '../query/request.js';
import { DAY_MS, formatInZone, HOUR_MS, type UnitRange } from '../query/time.js';
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
          const { tz, units, previous, split, authoritativeUntil } = await service.prepare(
            request,
            site,
            q,
            HOUR_MS,
            MAX_RANGE_DAYS * DAY_MS,
          );
          const totalsOf = (range: UnitRange) =>
            queryAggregate(service.context(split), {
              siteId: site,
              metrics: q.metrics,
              units: range,
              filters: q.filters ?? [],
            });
          const [totals, prevTotals] = await Promise.all([
            totalsOf(units),
            previous ? totalsOf(previous) : undefined,
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
          const notes = warnings(q.metrics, units.last, authoritativeUntil);
          return {
            site_id: site,
            tz,
            from: formatInZone(units.first, tz),
            to: formatInZone(units.last + HOUR_MS, tz),
            authoritative_until: authoritativeUntil?.toISOString() ?? null,
            results,
            ...(previous
              ? {
                  comparison: {
                    from: formatInZone(previous.first, tz),
                    to: formatInZone(previous.last + HOUR_MS, tz),
                  },
                }
              : {}),
            ...(notes.length ? { warnings: notes } : {}),
          };
        }),
    );
  };
