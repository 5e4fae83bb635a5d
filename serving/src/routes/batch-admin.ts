import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { invalidRange, timeBound } from './time-range.js';

/** What the admin API needs of the batch layer (embedded: in this process; cluster: its queue). */
export interface BatchControl {
  status(): Promise<unknown>;
  reprocess(from: Date, to: Date): Promise<number>;
  runsSince(
    since: number,
    reason: string,
  ): Promise<{ committed: number; failed: number; input_rows: number }>;
}

const MAX_HOURS = 24 * 400;
const reprocessBody = z
  .strictObject({ from: timeBound, to: timeBound })
  .refine((b) => b.to > b.from, { message: 'must be after from', path: ['to'] })
  .refine((b) => b.to.getTime() - b.from.getTime() <= MAX_HOURS * 3600_000, {
    message: 'at most 400 days',
    path: ['to'],
  });

/** GET /v1/admin/batch (watermark, queue, last runs) and POST /v1/admin/reprocess; admin auth is the caller's hook. */
export const batchAdminRoutes =
  (batch: BatchControl): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Querystring: { since?: string; reason?: string } }>('/v1/admin/batch', async (request) => {
      const since = Number(request.query.since);
      if (Number.isFinite(since) && since > 0) {
        return {
          ...((await batch.status()) as object),
          runs_since: await batch.runsSince(since, request.query.reason ?? 'reprocess'),
        };
      }
      return batch.status();
    });
    app.post('/v1/admin/reprocess', async (request, reply) => {
      const parsed = reprocessBody.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send(invalidRange(parsed.error));
      const hours = await batch.reprocess(parsed.data.from, parsed.data.to);
      return reply
        .code(202)
        .send({ hours, from: parsed.data.from.toISOString(), to: parsed.data.to.toISOString() });
    });
  };
