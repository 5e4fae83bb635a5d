import { errorBody, type RedisRateLimit } from '@sightline/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, sameToken } from './admin-token.js';
import type { KeyCache, ResolvedKey } from './key-cache.js';

/** Who is asking: the operator (ADMIN_TOKEN or an admin-scope key: every site) or a key with its sites. */
export type Access = { kind: 'admin'; keyId: string | null } | { kind: 'key'; key: ResolvedKey };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the read-auth hook on every authenticated serving route. */
    access?: Access;
  }
  interface FastifyContextConfig {
    /** `public`: no key needed (e.g. the dashboard page). Default: a key that reads the route's site. */
    auth?: 'public';
  }
}

/** Whether the access may read a site, named by its id or (Plausible-style) by its domain. */
export function canRead(access: Access | undefined, site: string): boolean {
  if (!access) return false;
  if (access.kind === 'admin') return true;
  return access.key.sites.includes(site) || access.key.domains.includes(site);
}

/** The sites an access reads; undefined: every site. */
export function readableSites(access: Access): string[] | undefined {
  return access.kind === 'admin' ? undefined : access.key.sites;
}

export interface ReadAuthDeps {
  adminToken: string;
  keys: KeyCache;
  limit: RedisRateLimit;
}

/**
 * Every route of the serving context needs `Authorization: Bearer <key>` (deny by default), except
 * /v1/admin/* (their own ADMIN_TOKEN check) and routes marked `config: { auth: 'public' }`.
 * The site a route reads, `:site` in the path or `site_id` in the body, must be one of the key's:
 * checked before validation (a foreign site is a 403 whatever else is wrong with the request) and
 * again on the validated values. Routes without a site (POST /v1/sql) read `request.access`.
 */
export function installReadAuth(app: FastifyInstance, deps: ReadAuthDeps): void {
  const guarded = (request: FastifyRequest) => {
    const url = request.routeOptions.url;
    return (
      url !== undefined && !url.startsWith('/v1/admin/') && request.routeOptions.config.auth !== 'public'
    );
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!guarded(request)) return;
    const token = bearerToken(request);
    if (!token) {
      return reply
        .code(401)
        .send(
          errorBody(
            'unauthorized',
            'send an API key: Authorization: Bearer <key> (POST /v1/admin/keys makes one)',
          ),
        );
    }
    if (sameToken(token, deps.adminToken)) {
      request.access = { kind: 'admin', keyId: null };
      return;
    }
    const key = await deps.keys.lookup(token);
    if (!key)
      return reply.code(401).send(errorBody('invalid_key', 'the API key is unknown, revoked or expired'));
    if (key.scope === 'write')
      return reply
        .code(403)
        .send(errorBody('forbidden', 'a write key sends events; reading needs a read key'));
    const limited = await deps.limit.consume(key.key_id);
    if (!limited.ok) {
      return reply
        .code(429)
        .header('retry-after', String(limited.retryAfterSeconds))
        .send(
          errorBody(
            'rate_limited',
            `too many requests for this key; retry in ${limited.retryAfterSeconds} s`,
          ),
        );
    }
    request.access = key.scope === 'admin' ? { kind: 'admin', keyId: key.key_id } : { kind: 'key', key };
    return checkSites(request, reply, siteOfParams(request));
  });
  app.addHook('preValidation', async (request, reply) => {
    if (guarded(request)) return checkSites(request, reply, siteOfBody(request));
  });
  app.addHook('preHandler', async (request, reply) => {
    if (guarded(request)) return checkSites(request, reply, siteOfParams(request) ?? siteOfBody(request));
  });
}

function siteOfParams(request: FastifyRequest): unknown {
  return (request.params as Record<string, unknown> | undefined)?.site;
}

function siteOfBody(request: FastifyRequest): unknown {
  const body = request.body;
  return typeof body === 'object' && body !== null && 'site_id' in body ? body.site_id : undefined;
}

function checkSites(request: FastifyRequest, reply: FastifyReply, site: unknown): FastifyReply | undefined {
  if (!request.access) {
    // Unreachable while the onRequest hook runs first; refuse rather than serve if it ever is.
    return reply.code(401).send(errorBody('unauthorized', 'no API key'));
  }
  if (site === undefined || canRead(request.access, String(site))) return undefined;
  return reply.code(403).send(errorBody('forbidden_site', `this key does not read site ${String(site)}`));
}
