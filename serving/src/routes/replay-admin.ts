import { errorBody, zodDetails } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';

/** What the admin API needs of the speed layer's replay. */
export interface ReplayControl {
  readonly state: unknown;
  start(from: Date, to: Date | undefined): boolean;
}

const time = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((t) => new Date(t.length === 10 ? `${t}T00:00:00Z` : t));
const body = z.strictObject({ from: time, to: time.optional() });

/** POST /v1/admin/replay re-reads the events topic from a time into events_raw (dedup-safe); GET shows progress. */
export const replayAdminRoutes =
  (replay: ReplayControl): FastifyPluginAsync =>
  async (app) => {
    app.get('/v1/admin/replay', async () => replay.state);
    app.post('/v1/admin/replay', async (request, reply) => {
      const parsed = body.safeParse(request.body);
      if (!parsed.success) {
        const details = zodDetails(parsed.error);
        return reply
          .code(400)
          .send(
            errorBody('invalid_range', details.map((d) => `${d.path}: ${d.message}`).join('; '), details),
          );
      }
      if (!replay.start(parsed.data.from, parsed.data.to)) {
        return reply
          .code(409)
          .send(errorBody('replay_running', 'a replay is already running; GET /v1/admin/replay shows it'));
      }
      return reply.code(202).send(replay.state);
    });
  };
