import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toCsv } from '../query/csv.js';
import { filtersParamSchema } from '../query/filters.js';
import { metricListSchema } from '../query/metrics.js';
import {
  answer,
  MAX_RANGE_DAYS,
  type QueryService,
  rangeShape,
  resolveUnits,
  siteParamsSchema,
  wantsCsv,
  warnings,
} from '../query/request.js';
import { DAY_MS, formatInZone, intervals, previousPeriod } from '../query/time.js';
import { queryTimeseries, unitMs } from '../query/timeseries.query.js';
import { errorSchema } from './docs.js';

const querySchema = z.strictObject({
  metrics: metricListSchema.default(['pageviews']),
  interval: z.enum(intervals).default('hour'),
  ...rangeShape,
  filters: filtersParamSchema.optional(),
  compare: z.enum(['previous_period']).optional(),
  format: z.enum(['json', 'csv']).optional(),
});

/** Minute buckets come from speed_minute, which keeps three days: at most one day at a time. */
const maxRangeMs = (interval: string) => (interval === 'minute' ? DAY_MS : MAX_RANGE_DAYS * DAY_MS);

/**
 * GET /v1/sites/:site/timeseries: metrics per bucket in the site's zone (or `tz`), optionally with
 * the previous period of the same length; JSON or CSV.
 */
export const timeseriesRoutes =
  (service: QueryService): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/v1/sites/:site/timeseries',
      {
        schema: {
          summary: 'Metrics per time bucket',
          description:
            'Buckets (minute, hour, day, week, month) in the site time zone or `tz`, built from UTC hours ' +
            '(an hour goes to the bucket its start falls in). Hours before authoritative_until come from ' +
            'the batch layer, later ones from the speed layer; visits, bounce_rate, views_per_visit and ' +
            'visit_duration exist only for batch hours. `filters` is a JSON array ' +
            '`[["is","page",["/a"]]]` over one dimension.',
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
          const unit = unitMs(q.interval);
          const units = resolveUnits(q.from, q.to, tz, unit, maxRangeMs(q.interval));
          const ctx = service.context();
          const filters = q.filters ?? [];
          const previous = q.compare ? previousPeriod(q.from, q.to, tz) : undefined;
          const [watermark, results, comparison] = await Promise.all([
            service.authoritativeUntil(),
            queryTimeseries(ctx, {
              siteId: site,
              metrics: q.metrics,
              interval: q.interval,
              tz,
              units,
              filters,
            }),
            previous
              ? (async () => {
                  const prevUnits = resolveUnits(
                    previous.from,
                    previous.to,
                    tz,
                    unit,
                    maxRangeMs(q.interval),
                  );
                  return {
                    from: formatInZone(prevUnits.first, tz),
                    to: formatInZone(prevUnits.last + unit, tz),
                    results: await queryTimeseries(service.context(), {
                      siteId: site,
                      metrics: q.metrics,
                      interval: q.interval,
                      tz,
                      units: prevUnits,
                      filters,
                    }),
                  };
                })()
              : undefined,
          ]);
          if (wantsCsv(q.format, request.headers.accept)) {
            return reply
              .type('text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${site}-timeseries.csv"`)
              .send(toCsv(['time', ...q.metrics], results));
          }
          const notes = warnings(q.metrics, units.last, watermark);
          return {
            site_id: site,
            interval: q.interval,
            tz,
            from: formatInZone(units.first, tz),
            to: formatInZone(units.last + unit, tz),
            authoritative_until: watermark?.toISOString() ?? null,
            results,
            ...(comparison ? { comparison } : {}),
            ...(notes.length ? { warnings: notes } : {}),
          };
        }),
    );
  };
