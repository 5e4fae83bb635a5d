import { type ClickHousePool, loadSites } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readableSites } from '../auth/read-auth.js';
import { errorSchema } from './docs.js';

const readableSiteSchema = z.object({ site_id: z.string(), domain: z.string(), timezone: z.string() });

/** GET /v1/sites: the sites the caller's key reads (every site for ADMIN_TOKEN and admin keys). */
export const sitesListRoutes =
  (deps: { pool: ClickHousePool }): FastifyPluginAsync =>
  async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/v1/sites',
      {
        schema: {
          summary: 'The sites this key reads',
          description: 'Each with its domain and time zone, sorted by domain; the dashboard’s site picker.',
          tags: ['query'],
          security: [{ bearer: [] }],
          response: { 200: z.object({ sites: z.array(readableSiteSchema) }), 401: errorSchema },
        },
      },
      async (request) => {
        const allowed = readableSites(request.access!);
        const sites = (await loadSites(deps.pool.client))
          .filter((s) => allowed === undefined || allowed.includes(s.site_id))
          .sort((a, b) => a.domain.localeCompare(b.domain))
          .map(({ site_id, domain, timezone }) => ({ site_id, domain, timezone }));
        return { sites };
      },
    );
  };
