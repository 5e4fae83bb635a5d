import { errorBody } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema } from './docs.js';
import { timeBound } from './time-range.js';

/** What the admin API needs of the speed layer's replay. */
export interface ReplayControl {
  readonly state: unknown;
  start(from: Date, to: Date | undefined): boolean;
}

const body = z.strictObject({ from: timeBound, to: timeBound.optional() });

/** POST /v1/admin/replay re-reads the events topic from a time into events_raw (dedup-safe); GET shows progress. */
export const replayAdminRoutes =
  (replay: ReplayControl): FastifyPluginAsync =>
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    const docs = { tags: ['admin'], security: [{ bearer: [] }] };
    app.get(
      '/v1/admin/replay',
      { schema: { ...docs, summary: 'Progress of the replay' } },
      async () => replay.state,
    );
    app.post(
      '/v1/admin/replay',
      {
        config: { invalidCode: 'invalid_range' },
        schema: {
          ...docs,
          summary: 'Re-read the events topic from a time into events_raw, skipping events already there',
          body,
          response: { 202: z.unknown().describe('the replay state'), 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        if (!replay.start(request.body.from, request.body.to)) {
          return reply
            .code(409)
            .send(errorBody('replay_running', 'a replay is already running; GET /v1/admin/replay shows it'));
        }
        return reply.code(202).send(replay.state);
      },
    );
  };
