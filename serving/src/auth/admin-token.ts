import { timingSafeEqual } from 'node:crypto';
import { errorBody } from '@sightline/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An onRequest hook: 401 without a bearer token, 403 with one that is neither the admin token nor
 * an admin-scope key.
 */
export function requireAdmin(adminToken: string, isAdminKey: (token: string) => Promise<boolean>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) {
      return reply
        .code(401)
        .send(
          errorBody('unauthorized', 'admin endpoints need Authorization: Bearer <ADMIN_TOKEN or admin key>'),
        );
    }
    if (sameToken(token, adminToken) || (await isAdminKey(token))) return;
    return reply.code(403).send(errorBody('forbidden', 'neither the admin token nor an admin key'));
  };
}
