import { errorBody, siteIdSchema } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema } from './docs.js';
import { timeBound } from './time-range.js';

/** What the admin API needs of the batch layer (embedded: in this process; cluster: its queue). */
export interface BatchControl {
  status(): Promise<unknown>;
  /** Enqueues the hours of [from, to), for every site or only `sites`. */
  reprocess(from: Date, to: Date, sites?: string[]): Promise<{ hours: number } | { unknownSites: string[] }>;
  runsSince(
    since: number,
    range?: { from: Date; to: Date },
  ): Promise<{ committed: number; failed: number; input_rows: number }>;
  /** Rebuilds one day of events_raw from the raw payloads with the current enrichment. */
  rebuildRaw(
    day: Date,
  ): Promise<
    | { ok: true; day: string; rows: number; rebuilt: number; changed: number; kept: number }
    | { ok: false; reason: string }
  >;
}

const MAX_HOURS = 24 * 400;
const reprocessBody = z
  .strictObject({
    from: timeBound,
    to: timeBound,
    sites: z.array(siteIdSchema).min(1).max(1000).optional(),
  })
  .refine((b) => b.to > b.from, { message: 'must be after from', path: ['to'] })
  .refine((b) => b.to.getTime() - b.from.getTime() <= MAX_HOURS * 3600_000, {
    message: 'at most 400 days',
    path: ['to'],
  });

/** GET /v1/admin/batch (watermark, queue, last runs) and POST /v1/admin/reprocess; admin auth is the caller's hook. */
export const batchAdminRoutes =
  (batch: BatchControl): FastifyPluginAsync =>
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    const docs = { tags: ['admin'], security: [{ bearer: [] }] };
    app.get(
      '/v1/admin/batch',
      {
        schema: {
          ...docs,
          summary: 'The watermark, the logic version, the queue and the last runs',
          querystring: z.object({
            since: z
              .string()
              .optional()
              .meta({ description: 'epoch ms: also count the hours committed since (runs_since)' }),
            from: timeBound.optional().meta({ description: 'runs_since counts only hours from this one' }),
            to: timeBound.optional().meta({ description: 'runs_since counts only hours before this one' }),
          }),
        },
      },
      async (request) => {
        const { from, to } = request.query;
        const since = Number(request.query.since);
        if (Number.isFinite(since) && since > 0) {
          return {
            ...((await batch.status()) as object),
            runs_since: await batch.runsSince(since, from && to ? { from, to } : undefined),
          };
        }
        return batch.status();
      },
    );
    app.post(
      '/v1/admin/reprocess',
      {
        config: { invalidCode: 'invalid_range' },
        schema: {
          ...docs,
          summary: 'Recompute the hours of [from, to), for every site or some',
          body: reprocessBody,
          response: {
            202: z.object({
              hours: z.number(),
              from: z.string(),
              to: z.string(),
              sites: z.array(z.string()).nullable(),
            }),
            400: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const { from, to, sites } = request.body;
        const result = await batch.reprocess(from, to, sites);
        if ('unknownSites' in result) {
          const message = `not registered sites: ${result.unknownSites.join(', ')}`;
          return reply.code(400).send(errorBody('unknown_site', message, [{ path: 'sites', message }]));
        }
        return reply.code(202).send({
          hours: result.hours,
          from: from.toISOString(),
          to: to.toISOString(),
          sites: sites ?? null,
        });
      },
    );
    app.post(
      '/v1/admin/rebuild-raw',
      {
        config: { invalidCode: 'invalid_day' },
        schema: {
          ...docs,
          summary: 'Rebuild one day of events_raw from the raw payloads with the current enrichment',
          body: z.strictObject({ day: z.iso.date() }),
          response: {
            200: z.object({
              day: z.string(),
              rows: z.number(),
              rebuilt: z.number(),
              changed: z.number(),
              kept: z.number(),
            }),
            400: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const outcome = await batch.rebuildRaw(new Date(`${request.body.day}T00:00:00Z`));
        if (!outcome.ok) {
          return reply
            .code(400)
            .send(errorBody('day_not_closed', outcome.reason, [{ path: 'day', message: outcome.reason }]));
        }
        const { ok: _, ...summary } = outcome;
        return summary;
      },
    );
  };
