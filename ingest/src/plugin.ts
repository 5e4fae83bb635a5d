import cors from '@fastify/cors';
import type { FastifyPluginAsync } from 'fastify';
import type { IngestDeps } from './deps.js';
import { eventsRoutes } from './routes/events.js';
import { pixelRoutes } from './routes/pixel.js';
import { plausibleRoutes } from './routes/plausible.js';
import { trackerRoutes } from './routes/tracker.js';

export type { IngestDeps };

/** Every ingest route, for the standalone ingest app and for the embedded all-in-one app. */
export const ingestPlugin =
  (deps: IngestDeps): FastifyPluginAsync =>
  async (app) => {
    // Browsers post from the merchant's pages, any origin; a site restricts where events may come
    // from with allowed_hostnames, checked against the event's page URL.
    await app.register(cors, {
      origin: true,
      methods: ['GET', 'POST'],
      maxAge: 86_400,
      // Browsers hide other headers of a cross-origin answer; the tracker's backoff reads this one.
      exposedHeaders: ['Retry-After'],
    });
    // navigator.sendBeacon and no-preflight fetches send JSON as text/plain (Plausible's tracker too).
    app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        const error = Object.assign(new Error('Body is not valid JSON'), {
          statusCode: 400,
          code: 'FST_ERR_CTP_INVALID_JSON_BODY',
        });
        done(error, undefined);
      }
    });
    await app.register(eventsRoutes(deps));
    await app.register(plausibleRoutes(deps));
    await app.register(pixelRoutes(deps));
    await app.register(trackerRoutes);
  };
