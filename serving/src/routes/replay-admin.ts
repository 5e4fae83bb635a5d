import { errorBody } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { invalidRange, timeBound } from './time-range.js';

/** What the admin API needs of the speed layer's replay. */
export interface ReplayControl {
  readonly state: unknown;
  start(from: Date, to: Date | undefined): boolean;
}

const body = z.strictObject({ from: timeBound, to: timeBound.optional() });

/** POST /v1/admin/replay re-reads the events topic from a time into events_raw (dedup-safe); GET shows progress. */
export const replayAdminRoutes =
  (replay: ReplayControl): FastifyPluginAsync =>
  async (app) => {
    app.get('/v1/admin/replay', async () => replay.state);
    app.post('/v1/admin/replay', async (request, reply) => {
      const parsed = body.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send(invalidRange(parsed.error));
      if (!replay.start(parsed.data.from, parsed.data.to)) {
        return reply
          .code(409)
          .send(errorBody('replay_running', 'a replay is already running; GET /v1/admin/replay shows it'));
      }
      return reply.code(202).send(replay.state);
    });
  };
