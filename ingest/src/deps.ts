import { type ErrorBody, errorBody, type Logger, type StoredEvent } from '@sightline/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AcceptDeps } from './accept.js';
import type { BodyBudget } from './body-budget.js';
import { type DurableEventSink, SpoolFullError } from './durable-sink.js';
import type { RequestFacts } from './enrich.js';
import type { IngestMetrics } from './metrics.js';
import type { RateLimits } from './rate-limits.js';

export interface IngestDeps extends AcceptDeps {
  sink: DurableEventSink;
  limits: RateLimits;
  metrics: IngestMetrics;
  logger: Logger;
  /** Lower-case name of the trusted header carrying the visitor's country, when configured. */
  countryHeader?: string | undefined;
  /** The request bodies held at once; by default 512 KB (see plugin.ts). */
  bodyBudget?: BodyBudget | undefined;
}

export type Refusal = { status: number; body: ErrorBody; retryAfter?: number };

export function sendRefusal(reply: FastifyReply, refusal: Refusal): FastifyReply {
  if (refusal.retryAfter) void reply.header('retry-after', String(refusal.retryAfter));
  return reply.code(refusal.status).send(refusal.body);
}

export function requestFacts(request: FastifyRequest, countryHeader: string | undefined): RequestFacts {
  const country = countryHeader ? String(request.headers[countryHeader] ?? '').toUpperCase() : '';
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? '',
    acceptLanguage: request.headers['accept-language'],
    // CDNs use XX / T1 for unknown and Tor; only a real ISO 3166 code is kept.
    country: /^[A-Z]{2}$/.test(country) && country !== 'XX' && country !== 'T1' ? country : '',
    receivedAt: Date.now(),
  };
}

export async function checkIpLimit(deps: IngestDeps, ip: string): Promise<Refusal | undefined> {
  const limit = await deps.limits.ip(ip);
  if (limit.ok) return undefined;
  deps.metrics.rejected.inc({ reason: 'rate_limited' });
  return {
    status: 429,
    retryAfter: limit.retryAfterSeconds,
    body: errorBody(
      'rate_limited',
      `too many requests from this address; retry in ${limit.retryAfterSeconds} s`,
    ),
  };
}

/** Applies the per-site limit, then makes the events durable. Undefined when they are stored. */
export async function store(deps: IngestDeps, events: StoredEvent[]): Promise<Refusal | undefined> {
  const perSite = new Map<string, number>();
  for (const e of events) perSite.set(e.site_id, (perSite.get(e.site_id) ?? 0) + 1);
  for (const [siteId, count] of perSite) {
    const limit = await deps.limits.site(siteId, count);
    if (!limit.ok) {
      deps.metrics.rejected.inc({ reason: 'rate_limited' }, events.length);
      return {
        status: 429,
        retryAfter: limit.retryAfterSeconds,
        body: errorBody(
          'rate_limited',
          `site ${siteId} sent more events than its limit; retry in ${limit.retryAfterSeconds} s`,
        ),
      };
    }
  }
  const timer = deps.metrics.durableSeconds.startTimer();
  try {
    const stored = await deps.sink.send(events);
    deps.metrics.accepted.inc({ stored }, events.length);
    return undefined;
  } catch (error) {
    deps.metrics.rejected.inc({ reason: 'unavailable' }, events.length);
    if (!(error instanceof SpoolFullError))
      deps.logger.error({ err: error }, 'events could not be made durable');
    return {
      status: 503,
      retryAfter: 30,
      body: errorBody('unavailable', 'events cannot be stored right now; retry later with the same event_id'),
    };
  } finally {
    timer();
  }
}
