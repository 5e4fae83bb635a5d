import { errorBody, eventInputSchema, invalidEvent, type Logger } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { type DurableEventSink, SpoolFullError } from '../durable-sink.js';
import { clampTimestamp, type RequestFacts, toStoredEvent } from '../enrich.js';
import type { VisitorSalts } from '../visitor-salt.js';

export interface EventsRouteDeps {
  sink: DurableEventSink;
  salts: VisitorSalts;
  logger: Logger;
}

/** POST /v1/events: the native API. Answers 202 only once the event is durable (Kafka or the spool). */
export const eventsRoutes =
  (deps: EventsRouteDeps): FastifyPluginAsync =>
  async (app) => {
    app.post('/v1/events', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const receivedAt = Date.now();
      const parsed = eventInputSchema.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send(invalidEvent(parsed.error));
      const clamped = clampTimestamp(parsed.data.timestamp, receivedAt);
      if (!clamped.ok) {
        const message = `timestamp ${clamped.reason}`;
        return reply
          .code(400)
          .send(
            errorBody('invalid_event', `invalid event: ${message}`, [
              { path: 'timestamp', message: clamped.reason },
            ]),
          );
      }
      const facts: RequestFacts = {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? '',
        country: '',
        receivedAt,
      };
      const event = toStoredEvent(parsed.data, clamped.ts, facts, await deps.salts.forDay(clamped.ts));
      try {
        await deps.sink.send([event]);
      } catch (error) {
        if (!(error instanceof SpoolFullError))
          deps.logger.error({ err: error }, 'an event could not be made durable');
        return reply
          .code(503)
          .header('retry-after', '30')
          .send(
            errorBody('unavailable', 'events cannot be stored right now; retry later with the same event_id'),
          );
      }
      return reply.code(202).send({ accepted: 1, event_ids: [event.event_id] });
    });
  };
