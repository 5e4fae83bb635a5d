import { type ClickHouseClient, errorBody, loadSites } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { KeyCache } from '../auth/key-cache.js';
import { createKey, listKeys, newKeySchema, revokeKey, scopes } from '../auth/keys.js';
import { errorSchema } from './docs.js';

const keySchema = z.object({
  key_id: z.string(),
  name: z.string(),
  prefix: z.string().meta({ description: 'the first characters of the key' }),
  scope: z.enum(scopes),
  sites: z.array(z.string()),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

/** POST, GET /v1/admin/keys and DELETE /v1/admin/keys/:id; admin auth is the caller's hook. */
export const keysAdminRoutes =
  (deps: { ch: ClickHouseClient; keys: KeyCache }): FastifyPluginAsync =>
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    const docs = { tags: ['admin'], security: [{ bearer: [] }] };

    app.post(
      '/v1/admin/keys',
      {
        config: { invalidCode: 'invalid_key_request' },
        schema: {
          ...docs,
          summary: 'Create an API key (the key is in this answer only)',
          body: newKeySchema,
          response: {
            201: keySchema.extend({
              key: z.string().meta({ description: 'shown once; only its hash is kept' }),
            }),
            400: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const known = new Set((await loadSites(deps.ch)).map((s) => s.site_id));
        const unknown = request.body.sites.filter((s) => !known.has(s));
        if (unknown.length > 0) {
          const message = `no such site: ${unknown.join(', ')}`;
          return reply.code(400).send(errorBody('unknown_site', message, [{ path: 'sites', message }]));
        }
        return reply.code(201).send(await createKey(deps.ch, request.body));
      },
    );

    app.get(
      '/v1/admin/keys',
      {
        schema: {
          ...docs,
          summary: 'List the API keys (never the keys themselves)',
          response: { 200: z.object({ keys: z.array(keySchema) }) },
        },
      },
      async () => ({ keys: await listKeys(deps.ch) }),
    );

    app.delete(
      '/v1/admin/keys/:id',
      {
        schema: {
          ...docs,
          summary: 'Revoke an API key (every instance refuses it within API_KEY_CACHE_SECONDS)',
          params: z.strictObject({
            id: z.string().regex(/^k_[A-Za-z0-9_-]{1,32}$/, 'must be a key id such as k_…'),
          }),
          response: { 200: z.object({ key_id: z.string(), revoked: z.literal(true) }), 404: errorSchema },
        },
      },
      async (request, reply) => {
        const hash = await revokeKey(deps.ch, request.params.id);
        if (!hash) return reply.code(404).send(errorBody('unknown_key', `no key ${request.params.id}`));
        deps.keys.forget(hash);
        return { key_id: request.params.id, revoked: true as const };
      },
    );
  };
