import type { FastifyPluginAsync } from 'fastify';
import { type EventsRouteDeps, eventsRoutes } from './routes/events.js';

export type IngestDeps = EventsRouteDeps;

/** Every ingest route, for the standalone ingest app and for the embedded all-in-one app. */
export const ingestPlugin =
  (deps: IngestDeps): FastifyPluginAsync =>
  async (app) => {
    await app.register(eventsRoutes(deps));
  };
