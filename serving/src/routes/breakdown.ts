import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queryBreakdown } from '../query/breakdown.query.js';
import { toCsv } from '../query/csv.js';
import { dimensionSchema } from '../query/dimensions.js';
import { filtersParamSchema } from '../query/filters.js';
import { metricListSchema, metricSchema } from '../query/metrics.js';
import {
  answer,
  MAX_RANGE_DAYS,
  type QueryService,
  rangeShape,
  siteParamsSchema,
  wantsCsv,
} from '../query/request.js';
import { DAY_MS, formatInZone, HOUR_MS } from '../query/time.js';
import { errorSchema } from './docs.js';

/** The deepest row a breakdown reaches (page × limit): beyond it, narrow the range or the filters. */
export const MAX_BREAKDOWN_OFFSET = 10_000;

const querySchema = z
  .strictObject({
    dimension: dimensionSchema,
    metrics: metricListSchema.default(['visitors']),
    ...rangeShape,
    filters: filtersParamSchema.optional(),
    order_by: z
      .string()
      .regex(/^[a-z_]+(:(asc|desc))?$/, 'must be <metric> or <metric>:asc|desc')
      .transform((s) => s.split(':') as [string, ('asc' | 'desc')?])
      .pipe(z.tuple([metricSchema, z.enum(['asc', 'desc']).default('desc')]))
      .optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(10),
    page: z.coerce.number().int().min(1).default(1),
    format: z.enum(['json', 'csv']).optional(),
  })
  .refine((q) => q.page * q.limit <= MAX_BREAKDOWN_OFFSET, {
    message: `page × limit must be at most ${MAX_BREAKDOWN_OFFSET}`,
    path: ['page'],
  });

/** GET /v1/sites/:site/breakdown: the top values of one dimension, sorted, one page at a time. */
export const breakdownRoutes =
  (service: QueryService): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/v1/sites/:site/breakdown',
      {
        schema: {
          summary: 'Top values of one dimension',
          description:
            'Dimensions: page, entry_page, exit_page, referrer_source, channel, utm_*, country, browser, ' +
            'os, device, event_name, goal, prop:<key>. Every dimension has visitors, pageviews, events and ' +
            'revenue; the visit dimensions (entry_page, exit_page, referrer_source, channel, utm_*) also ' +
            'visits, bounce_rate and views_per_visit, goal also conversions (batch hours only). Sorted by ' +
            'order_by (default: the first metric, descending), then by value. Filters must be on the same ' +
            'dimension.',
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
          const { tz, units, split, authoritativeUntil } = await service.prepare(
            request,
            site,
            q,
            HOUR_MS,
            MAX_RANGE_DAYS * DAY_MS,
          );
          const [metric, direction] = q.order_by ?? [q.metrics[0]!, 'desc'];
          const { rows, hasMore } = await queryBreakdown(service.context(split), {
            siteId: site,
            dimension: q.dimension,
            metrics: q.metrics,
            units,
            filters: q.filters ?? [],
            orderBy: { metric, direction: direction ?? 'desc' },
            limit: q.limit,
            offset: (q.page - 1) * q.limit,
          });
          if (wantsCsv(q.format, request.headers.accept)) {
            return reply
              .type('text/csv; charset=utf-8')
              .header(
                'content-disposition',
                `attachment; filename="${site}-${q.dimension.replace(':', '-')}.csv"`,
              )
              .send(
                toCsv(
                  [q.dimension, ...q.metrics],
                  rows.map((r) => ({ ...r, [q.dimension]: r.value })),
                ),
              );
          }
          return {
            site_id: site,
            dimension: q.dimension,
            tz,
            from: formatInZone(units.first, tz),
            to: formatInZone(units.last + HOUR_MS, tz),
            authoritative_until: authoritativeUntil?.toISOString() ?? null,
            page: q.page,
            limit: q.limit,
            has_more: hasMore,
            results: rows,
          };
        }),
    );
  };
