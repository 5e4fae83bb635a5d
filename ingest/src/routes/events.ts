import { type ErrorBody, errorBody, limits } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { acceptEvent } from '../accept.js';
import { checkIpLimit, type IngestDeps, requestFacts, sendRefusal, store } from '../deps.js';
import { documented, eventsBodyDoc } from './docs.js';

/**
 * POST /v1/events: one event, or { events: [...] } with up to 500. Valid items of a batch are
 * accepted even when others are not; each rejected item is listed with its index and error. The
 * answer is 202 only once the accepted events are durable (Kafka or the spool).
 */
export const eventsRoutes =
  (deps: IngestDeps): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/v1/events',
      {
        bodyLimit: 1024 * 1024,
        ...documented({
          summary: 'Send one event, or {events: [...]} with up to 500',
          description:
            'Valid items of a batch are accepted even when others are not (each rejection listed by index); 202 once the accepted events are durable. JSON, or text/plain holding JSON (sendBeacon).',
          body: eventsBodyDoc,
        }),
      },
      async (request, reply) => {
        const facts = requestFacts(request, deps.countryHeader);
        const limited = await checkIpLimit(deps, facts.ip);
        if (limited) return sendRefusal(reply, limited);

        const body = request.body as unknown;
        const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'events' in body;
        const items = isBatch ? (body as { events: unknown }).events : [body];
        if (!Array.isArray(items) || items.length === 0 || items.length > limits.batch) {
          deps.metrics.rejected.inc({ reason: 'invalid_batch' });
          const message = `events must be an array of 1 to ${limits.batch} events`;
          return reply.code(400).send(errorBody('invalid_batch', message, [{ path: 'events', message }]));
        }

        const verdicts = await Promise.all(items.map((item) => acceptEvent(item, facts, deps)));
        const accepted = verdicts.flatMap((v) => (v.ok ? [v.event] : []));
        const rejected = verdicts.flatMap((v, index) => (v.ok ? [] : [{ index, error: v.error.error }]));
        for (const r of rejected) deps.metrics.rejected.inc({ reason: r.error.code });

        if (accepted.length === 0) {
          if (!isBatch)
            return reply.code(400).send(verdicts[0] && !verdicts[0].ok ? verdicts[0].error : undefined);
          const body: ErrorBody & { rejected: typeof rejected } = {
            ...errorBody('invalid_batch', 'no event of the batch was accepted', []),
            rejected,
          };
          return reply.code(400).send(body);
        }
        const refusal = await store(deps, accepted);
        if (refusal) return sendRefusal(reply, refusal);
        const answer = { accepted: accepted.length, event_ids: accepted.map((e) => e.event_id) };
        return reply.code(202).send(rejected.length ? { ...answer, rejected } : answer);
      },
    );
  };
