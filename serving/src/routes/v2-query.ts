import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queryAggregate } from '../query/aggregate.query.js';
import { queryBreakdown } from '../query/breakdown.query.js';
import { invalidQuery, unsupportedQuery } from '../query/errors.js';
import type { Metric } from '../query/metrics.js';
import {
  answer,
  authoritativeUntil,
  MAX_RANGE_DAYS,
  type QueryService,
  resolveUnits,
  warnings,
} from '../query/request.js';
import { resolveSite } from '../query/site.js';
import { DAY_MS, formatInZone, HOUR_MS } from '../query/time.js';
import { queryTimeseries, unitMs } from '../query/timeseries.query.js';
import {
  checkOrderBy,
  v2DateRange,
  v2Dimension,
  v2Filters,
  v2QuerySchema,
  v2TimeDimension,
  v2TimeLabel,
} from '../query/v2.js';
import { errorSchema } from './docs.js';

type Row = { metrics: number[]; dimensions: string[] };

/** POST /api/v2/query: Plausible's Stats API v2 request and answer, for what the rollups hold. */
export const v2QueryRoutes =
  (service: QueryService): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().post(
      '/api/v2/query',
      {
        schema: {
          summary: 'Plausible Stats API v2 query',
          description:
            "Plausible's request body (site_id: the site id or its domain; metrics; date_range: a shortcut " +
            '(day, 24h, 7d, 28d, 30d, 91d, month, 6mo, 12mo, year) or [from, to]; dimensions: none, one ' +
            'time dimension (time:minute/hour/day/week/month), one of event:page, event:name, event:props:<key>, ' +
            'visit:entry_page, visit:exit_page, visit:source, visit:channel, visit:utm_*, visit:country, ' +
            'visit:browser, visit:os, visit:device, or a time dimension (not minute) and one of those; filters over one dimension; order_by; pagination) and its ' +
            'answer {results: [{metrics, dimensions}], meta, query}. meta.authoritative_until says up to where ' +
            'the numbers are final.',
          tags: ['query'],
          security: [{ bearer: [] }],
          body: v2QuerySchema,
          response: { 200: z.unknown(), 400: errorSchema, 404: errorSchema, 503: errorSchema },
        },
      },
      (request, reply) =>
        answer(reply, async () => {
          const q = request.body;
          const split = await service.splitOf(request);
          const ctx = service.context(split);
          const { siteId, tz } = await resolveSite(ctx, q.site_id);
          const range = v2DateRange(q.date_range, tz, Date.now());
          const filters = v2Filters(q.filters);
          const metrics: Metric[] = q.metrics;
          const limit = q.pagination?.limit ?? 10_000;
          const offset = q.pagination?.offset ?? 0;

          const time = q.dimensions.map((d) => v2TimeDimension(d)).filter((d) => d !== undefined);
          const others = q.dimensions.filter((d) => v2TimeDimension(d) === undefined);
          if (time.length > 1 || others.length > 1) {
            throw invalidQuery('dimensions', 'at most one time dimension and one other dimension');
          }
          if (time[0] === 'minute' && others.length > 0) {
            throw unsupportedQuery('dimensions', 'time:minute cannot be combined with another dimension');
          }
          checkOrderBy(q.order_by, [...q.metrics.map(String), ...q.dimensions]);
          const order = q.order_by?.[0];

          let results: Row[];
          let units: ReturnType<typeof resolveUnits>;
          if (time[0] && others.length === 0) {
            const interval = time[0];
            const maxMs = interval === 'minute' ? DAY_MS : MAX_RANGE_DAYS * DAY_MS;
            units = resolveUnits(range.from, range.to, tz, unitMs(interval), maxMs);
            const rows = await queryTimeseries(ctx, { siteId, metrics, interval, tz, units, filters });
            // Like Plausible, buckets without data are left out unless time_labels asks for all.
            const kept = q.include?.time_labels ? rows : rows.filter((r) => metrics.some((m) => r[m] !== 0));
            results = kept.map((r) => ({
              metrics: metrics.map((m) => r[m] ?? 0),
              dimensions: [v2TimeLabel(r.time, interval)],
            }));
            if (order) {
              const index = metrics.indexOf(order[0] as Metric);
              const sign = order[1] === 'asc' ? 1 : -1;
              results.sort((a, b) =>
                index < 0
                  ? sign * a.dimensions[0]!.localeCompare(b.dimensions[0]!)
                  : sign * (a.metrics[index]! - b.metrics[index]!) ||
                    a.dimensions[0]!.localeCompare(b.dimensions[0]!),
              );
            }
            results = results.slice(offset, offset + limit);
          } else if (others[0]) {
            const dimension = v2Dimension(others[0], 'dimensions.0');
            units = resolveUnits(range.from, range.to, tz, HOUR_MS, MAX_RANGE_DAYS * DAY_MS);
            const orderMetric =
              order && metrics.includes(order[0] as Metric) ? (order[0] as Metric) : metrics[0]!;
            const interval = time[0] === 'minute' ? undefined : time[0];
            const { rows } = await queryBreakdown(ctx, {
              siteId,
              dimension,
              metrics,
              units,
              filters,
              orderBy: { metric: orderMetric, direction: order?.[1] ?? 'desc' },
              limit,
              offset,
              ...(interval ? { time: { interval, tz } } : {}),
            });
            // Dimensions in the order the query named them; a time bucket labelled as for time alone.
            results = rows.map((r) => ({
              metrics: metrics.map((m) => r[m] ?? 0),
              dimensions: q.dimensions.map((d) =>
                interval && v2TimeDimension(d) ? v2TimeLabel(formatInZone(r.time!, tz), interval) : r.value,
              ),
            }));
          } else {
            units = resolveUnits(range.from, range.to, tz, HOUR_MS, MAX_RANGE_DAYS * DAY_MS);
            const totals = await queryAggregate(ctx, { siteId, metrics, units, filters });
            results = [{ metrics: metrics.map((m) => totals[m]), dimensions: [] }];
          }
          const until = authoritativeUntil(split.watermark);
          const notes = warnings(metrics, units.last, until);
          return {
            results,
            meta: {
              authoritative_until: until?.toISOString() ?? null,
              time_zone: tz,
              ...(notes.length ? { warnings: notes } : {}),
            },
            query: {
              site_id: q.site_id,
              metrics: q.metrics,
              date_range: [
                formatInZone(units.first, tz),
                formatInZone(units.last + unitMs(others.length ? 'hour' : (time[0] ?? 'hour')) - 1000, tz),
              ],
              dimensions: q.dimensions,
              filters: q.filters,
              order_by: q.order_by ?? null,
              include: q.include ?? {},
              pagination: { limit, offset },
            },
          };
        }),
    );
  };
