import cors from '@fastify/cors';
import type { FastifyPluginAsync } from 'fastify';
import { BodyBudget, holdBodyWithin } from './body-budget.js';
import type { IngestDeps } from './deps.js';
import { eventsRoutes } from './routes/events.js';
import { pixelRoutes } from './routes/pixel.js';
import { plausibleRoutes } from './routes/plausible.js';
import { trackerRoutes } from './routes/tracker.js';

export type { IngestDeps };

/**
 * Eight of the benchmark's 500-event bodies (64 KB each): enough waiting events to fill the next
 * produce request of each of the four producers. The ingest role under 500-event requests from 50
 * connections, side by side in one run: 70,670 and 75,833 events/s at 14.8 and 14.5 µs of CPU per
 * event, against 55,093 and 60,782 at 21.2 and 19.1 µs with no limit; 2 MB was no better than none,
 * 128 KB left the producers short of events (45-47k events/s).
 */
const defaultHeldBodyBytes = 512 * 1024;

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
    const budget = deps.bodyBudget ?? new BodyBudget(defaultHeldBodyBytes);
    app.addHook('preParsing', holdBodyWithin(budget));
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
