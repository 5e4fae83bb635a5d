import { type ClickHouseClient, errorBody, siteIdSchema } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type AnalystLimits,
  AnalystSqlError,
  createShapeTables,
  limitAnalystConnection,
  runAnalystSql,
} from '../analyst-sql.js';
import { readableSites } from '../auth/read-auth.js';
import { errorSchema } from './docs.js';

const body = z.strictObject({
  query: z
    .string()
    .min(1)
    .max(100_000)
    .meta({ description: 'one SELECT over the analyst views (README: SQL for analysts)' }),
  site_id: siteIdSchema.optional().meta({ description: "only this site (one of the key's)" }),
});

/**
 * POST /v1/sql (embedded mode): an analyst's SELECT over the analyst views, restricted to the key's
 * sites (admin: every site), read-only, time- and row-limited, one query at a time on its own
 * connection so it never holds up the query API.
 */
export const sqlRoutes =
  (deps: { ch: ClickHouseClient; setup: ClickHouseClient; limits: AnalystLimits }): FastifyPluginAsync =>
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    await createShapeTables(deps.setup);
    await limitAnalystConnection(deps.ch, deps.limits);

    app.post(
      '/v1/sql',
      {
        config: { invalidCode: 'invalid_sql' },
        schema: {
          tags: ['sql'],
          summary: 'Read-only SQL over the analyst views, restricted to the key’s sites',
          security: [{ bearer: [] }],
          body,
          response: {
            200: z.object({
              meta: z.array(z.object({ name: z.string(), type: z.string() })),
              data: z.array(z.record(z.string(), z.unknown())),
              rows: z.number(),
            }),
            400: errorSchema,
            403: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const access = request.access!;
        const sites = request.body.site_id ? [request.body.site_id] : readableSites(access);
        try {
          return await runAnalystSql(deps.ch, request.body.query, sites);
        } catch (error) {
          if (!(error instanceof AnalystSqlError)) throw error;
          return reply
            .code(400)
            .send(errorBody(error.code, error.message, [{ path: 'query', message: error.message }]));
        }
      },
    );
  };
