import { timingSafeEqual } from 'node:crypto';
import {
  type ClickHouseClient,
  createSite,
  DomainTakenError,
  errorBody,
  loadSites,
  newSiteSchema,
  type Site,
  zodDetails,
} from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { type BatchControl, batchAdminRoutes } from './batch-admin.js';
import { type ReplayControl, replayAdminRoutes } from './replay-admin.js';

export interface AdminDeps {
  ch: ClickHouseClient;
  adminToken: string;
  /** Told about a new site so in-process caches need not wait for their next refresh. */
  onSiteCreated?: ((site: Site) => void) | undefined;
  batch?: BatchControl | undefined;
  replay?: ReplayControl | undefined;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** POST /v1/admin/sites and GET /v1/admin/sites, behind `Authorization: Bearer $ADMIN_TOKEN`. */
export const adminRoutes =
  (deps: AdminDeps): FastifyPluginAsync =>
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!token) {
        return reply
          .code(401)
          .send(errorBody('unauthorized', 'admin endpoints need Authorization: Bearer <ADMIN_TOKEN>'));
      }
      if (!sameToken(token, deps.adminToken))
        return reply.code(403).send(errorBody('forbidden', 'wrong admin token'));
    });

    app.post('/v1/admin/sites', async (request, reply) => {
      const parsed = newSiteSchema.safeParse(request.body);
      if (!parsed.success) {
        const details = zodDetails(parsed.error);
        return reply
          .code(400)
          .send(errorBody('invalid_site', details.map((d) => `${d.path}: ${d.message}`).join('; '), details));
      }
      try {
        const site = await createSite(deps.ch, parsed.data);
        deps.onSiteCreated?.(site);
        return reply.code(201).send(site);
      } catch (error) {
        if (error instanceof DomainTakenError)
          return reply.code(409).send(errorBody('domain_taken', error.message));
        throw error;
      }
    });

    app.get('/v1/admin/sites', async () => ({ sites: await loadSites(deps.ch) }));
    if (deps.batch) await app.register(batchAdminRoutes(deps.batch));
    if (deps.replay) await app.register(replayAdminRoutes(deps.replay));
  };
