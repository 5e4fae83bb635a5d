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
  siteParamsSchema,
  wantsCsv,
  warnings,
} from '../query/request.js';
import { DAY_MS, formatInZone, intervals, type UnitRange } from '../query/time.js';
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
          const unit = unitMs(q.interval);
          const { tz, units, previous, split, authoritativeUntil } = await service.prepare(
            request,
            site,
            q,
            unit,
            maxRangeMs(q.interval),
          );
          const series = (range: UnitRange) =>
            queryTimeseries(service.context(split), {
              siteId: site,
              metrics: q.metrics,
              interval: q.interval,
              tz,
              units: range,
              filters: q.filters ?? [],
            });
          const [results, comparison] = await Promise.all([
            series(units),
            previous
              ? series(previous).then((rows) => ({
                  from: formatInZone(previous.first, tz),
                  to: formatInZone(previous.last + unit, tz),
                  results: rows,
                }))
              : undefined,
          ]);
          if (wantsCsv(q.format, request.headers.accept)) {
            return reply
              .type('text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${site}-timeseries.csv"`)
              .send(toCsv(['time', ...q.metrics], results));
          }
          const notes = warnings(q.metrics, units.last, authoritativeUntil);
          return {
            site_id: site,
            interval: q.interval,
            tz,
            from: formatInZone(units.first, tz),
            to: formatInZone(units.last + unit, tz),
            authoritative_until: authoritativeUntil?.toISOString() ?? null,
            results,
            ...(comparison ? { comparison } : {}),
            ...(notes.length ? { warnings: notes } : {}),
          };
        }),
    );
  };
