import { gzipSync } from 'node:zlib';
import { trackerScript } from '@sightline/sdk';
import type { FastifyPluginAsync } from 'fastify';
import { documented } from './docs.js';

/**
 * GET /t.js: the browser tracker, minified, gzipped once, with an ETag. Its URL has no version, so
 * browsers may cache it for an hour and then revalidate (a 304 costs a few bytes).
 */
export const trackerRoutes: FastifyPluginAsync = async (app) => {
  const script = trackerScript();
  const gzipped = gzipSync(script.code, { level: 9 });
  app.get(
    '/t.js',
    documented({ summary: 'The browser tracker script (gzipped, with an ETag)' }),
    async (request, reply) => {
      void reply
        .header('content-type', 'application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
        .header('etag', script.etag)
        .header('vary', 'accept-encoding');
      if (request.headers['if-none-match'] === script.etag) return reply.code(304).send();
      if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
        return reply.header('content-encoding', 'gzip').send(gzipped);
      }
      return reply.send(script.code);
    },
  );
};
