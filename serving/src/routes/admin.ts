import {
  type ClickHouseClient,
  createSite,
  DomainTakenError,
  errorBody,
  loadSites,
  newSiteSchema,
  type Site,
} from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth/admin-token.js';
import type { KeyCache } from '../auth/key-cache.js';
import { type BatchControl, batchAdminRoutes } from './batch-admin.js';
import { errorSchema } from './docs.js';
import { goalsAdminRoutes } from './goals-admin.js';
import { keysAdminRoutes } from './keys-admin.js';
import { type ReplayControl, replayAdminRoutes } from './replay-admin.js';

export interface AdminDeps {
  ch: ClickHouseClient;
  adminToken: string;
  keys: KeyCache;
  /** Told about a new site so in-process caches need not wait for their next refresh. */
  onSiteCreated?: ((site: Site) => void) | undefined;
  batch?: BatchControl | undefined;
  replay?: ReplayControl | undefined;
}

export const siteSchema = z.object({
  site_id: z.string(),
  domain: z.string(),
  timezone: z.string(),
  allowed_hostnames: z.array(z.string()),
  created_at: z.string(),
});

/** The admin API (sites, keys, batch, replay, goals), behind `Authorization: Bearer $ADMIN_TOKEN` or an admin key. */
export const adminRoutes =
  (deps: AdminDeps): FastifyPluginAsync =>
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    app.addHook(
      'onRequest',
      requireAdmin(deps.adminToken, async (token) => (await deps.keys.lookup(token))?.scope === 'admin'),
    );

    app.post(
      '/v1/admin/sites',
      {
        config: { invalidCode: 'invalid_site' },
        schema: {
          tags: ['admin'],
          summary: 'Create a site',
          security: [{ bearer: [] }],
          body: newSiteSchema,
          response: { 201: siteSchema, 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const site = await createSite(deps.ch, request.body);
          deps.onSiteCreated?.(site);
          return reply.code(201).send(site);
        } catch (error) {
          if (error instanceof DomainTakenError)
            return reply.code(409).send(errorBody('domain_taken', error.message));
          throw error;
        }
      },
    );

    app.get(
      '/v1/admin/sites',
      {
        schema: {
          tags: ['admin'],
          summary: 'List the sites',
          security: [{ bearer: [] }],
          response: { 200: z.object({ sites: z.array(siteSchema) }) },
        },
      },
      async () => ({ sites: await loadSites(deps.ch) }),
    );
    await app.register(keysAdminRoutes({ ch: deps.ch, keys: deps.keys }));
    if (deps.batch) await app.register(batchAdminRoutes(deps.batch));
    if (deps.replay) await app.register(replayAdminRoutes(deps.replay));
    await app.register(goalsAdminRoutes(deps.ch));
  };
