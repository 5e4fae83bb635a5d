import { errorBody } from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { acceptEvent } from '../accept.js';
import { checkIpLimit, type IngestDeps, requestFacts, sendRefusal, store } from '../deps.js';
import { documented, pixelQueryDoc } from './docs.js';

/** The smallest transparent GIF: 1×1, 43 bytes. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const pixelQuery = z.object({
  site_id: z.string().optional(),
  name: z.string().default('pageview'),
  url: z.string().optional(),
  referrer: z.string().optional(),
});

/**
 * GET /v1/pixel.gif?site_id=…[&url=…][&referrer=…]: a pageview for pages without JavaScript (emails,
 * AMP, noscript). Without url, the page that embeds the image (the Referer header) is the page.
 */
export const pixelRoutes =
  (deps: IngestDeps): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/v1/pixel.gif',
      documented({ summary: 'A pageview without JavaScript; answers a 1×1 GIF', querystring: pixelQueryDoc }),
      async (request, reply) => {
        const facts = requestFacts(request, deps.countryHeader);
        const limited = await checkIpLimit(deps, facts.ip);
        if (limited) return sendRefusal(reply, limited);
        const query = pixelQuery.safeParse(request.query);
        if (!query.success) return reply.code(400).send(errorBody('invalid_event', 'invalid pixel query'));
        const { site_id, name, url, referrer } = query.data;
        const verdict = await acceptEvent(
          { site_id, name, url: url ?? request.headers.referer, ...(referrer ? { referrer } : {}) },
          facts,
          deps,
        );
        if (!verdict.ok) {
          deps.metrics.rejected.inc({ reason: verdict.error.error.code });
          return reply.code(400).send(verdict.error);
        }
        const refusal = await store(deps, [verdict.event]);
        if (refusal) return sendRefusal(reply, refusal);
        return reply.header('cache-control', 'no-store').type('image/gif').send(GIF);
      },
    );
  };
