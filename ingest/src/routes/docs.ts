import { eventInputSchema, limits } from '@sightline/core';
import type { FastifySchema } from 'fastify';
import { z } from 'zod';

/**
 * Route options that describe an ingest route in the OpenAPI document (/docs) without changing how
 * it validates: the routes check their input themselves (per event, with per-item rejections), so
 * the schema given here is documentation only and every request passes it to the handler as sent.
 */
export function documented(schema: FastifySchema & { summary: string; description?: string }) {
  return { schema: { tags: ['ingest'], ...schema }, validatorCompiler: () => () => true };
}

export const eventsBodyDoc = z.union([
  eventInputSchema,
  z.object({ events: z.array(eventInputSchema).min(1).max(limits.batch) }),
]);

export const plausibleBodyDoc = z.object({
  name: z.string().meta({ description: 'event name; `n` in the short form' }),
  url: z.string().meta({ description: 'page URL; `u`' }),
  domain: z.string().meta({ description: "the site's domain (several, comma-separated); `d`" }),
  referrer: z.string().nullable().optional().meta({ description: '`r`' }),
  props: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  revenue: z.object({ amount: z.union([z.number(), z.string()]), currency: z.string() }).optional(),
  interactive: z.boolean().optional(),
});

export const pixelQueryDoc = z.object({
  site_id: z.string(),
  name: z.string().default('pageview'),
  url: z.string().optional().meta({ description: 'the page; default: the Referer header' }),
  referrer: z.string().optional(),
});
