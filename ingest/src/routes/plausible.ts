import { type EventInput, errorBody, eventInputSchema, invalidEvent } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { acceptInput, type Verdict } from '../accept.js';
import { checkIpLimit, type IngestDeps, requestFacts, sendRefusal, store } from '../deps.js';
import { documented, plausibleBodyDoc } from './docs.js';

/** A props value the tracker may send as an object or, from older trackers, as a JSON string. */
const props = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
);

/** Plausible's Events API body, with the long names its docs use or the short ones its tracker sends. */
const plausibleBody = z
  .object({
    name: z.string().optional(),
    n: z.string().optional(),
    url: z.string().optional(),
    u: z.string().optional(),
    domain: z.string().optional(),
    d: z.string().optional(),
    referrer: z.string().nullable().optional(),
    r: z.string().nullable().optional(),
    props: props.optional(),
    p: props.optional(),
    m: props.optional(),
    revenue: z.unknown().optional(),
    $: z.unknown().optional(),
    interactive: z.boolean().optional(),
    i: z.boolean().optional(),
  })
  .transform((b) => ({
    name: b.name ?? b.n,
    url: b.url ?? b.u,
    domains: (b.domain ?? b.d ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    referrer: b.referrer ?? b.r ?? undefined,
    props: b.props ?? b.p ?? b.m,
    revenue: b.revenue ?? b.$,
    interactive: b.interactive ?? b.i,
  }));

/** POST /api/event: what Plausible's tracker and its Events API docs send; answers 202 "ok" as Plausible does. */
export const plausibleRoutes =
  (deps: IngestDeps): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/api/event',
      {
        bodyLimit: 64 * 1024,
        ...documented({
          summary: "Plausible's Events API: the body its tracker and docs send; 202 ok",
          description:
            'Long or short field names (name/n, url/u, domain/d, referrer/r, props/p); the site is found by its domain.',
          body: plausibleBodyDoc,
        }),
      },
      async (request, reply) => {
        const facts = requestFacts(request, deps.countryHeader);
        const limited = await checkIpLimit(deps, facts.ip);
        if (limited) return sendRefusal(reply, limited);

        const parsed = plausibleBody.safeParse(request.body);
        if (!parsed.success) {
          deps.metrics.rejected.inc({ reason: 'invalid_event' });
          return reply.code(400).send(invalidEvent(parsed.error));
        }
        const body = parsed.data;
        if (body.domains.length === 0) {
          deps.metrics.rejected.inc({ reason: 'invalid_event' });
          const message = 'domain (or d) is required: the site domain registered in Sightline';
          return reply
            .code(400)
            .send(errorBody('invalid_event', `invalid event: ${message}`, [{ path: 'domain', message }]));
        }
        const verdicts: Verdict[] = [];
        for (const domain of body.domains) {
          const site = await deps.sites.byDomain(domain);
          if (!site) {
            const message = `domain ${domain} is not a registered site: create it with POST /v1/admin/sites`;
            verdicts.push({
              ok: false,
              error: errorBody('unknown_site', message, [{ path: 'domain', message }]),
            });
            continue;
          }
          const input = eventInputSchema.safeParse({
            site_id: site.site_id,
            name: body.name,
            url: body.url,
            referrer: body.referrer,
            props: body.props && withoutNulls(body.props),
            revenue: body.revenue,
            interactive: body.interactive,
          } satisfies Record<keyof Omit<EventInput, 'event_id' | 'timestamp'>, unknown>);
          verdicts.push(
            input.success
              ? await acceptInput(input.data, facts, deps)
              : { ok: false, error: invalidEvent(input.error) },
          );
        }
        const accepted = verdicts.flatMap((v) => (v.ok ? [v.event] : []));
        const firstError = verdicts.find((v) => !v.ok);
        if (accepted.length === 0 && firstError && !firstError.ok) {
          deps.metrics.rejected.inc({ reason: firstError.error.error.code });
          return reply.code(400).send(firstError.error);
        }
        const refusal = await store(deps, accepted);
        if (refusal) return sendRefusal(reply, refusal);
        return reply.code(202).type('text/plain').send('ok');
      },
    );
  };

/** Plausible drops null-valued props; so do we. */
function withoutNulls(record: Record<string, string | number | boolean | null>) {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null)) as Record<
    string,
    string | number | boolean
  >;
}
