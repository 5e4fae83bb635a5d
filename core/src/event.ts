import { z } from 'zod';

/** Limits of the event contract; ingest rejects anything beyond them with a 4xx naming the field. */
export const limits = {
  siteId: 64,
  name: 120,
  url: 2048,
  props: 30,
  propKey: 300,
  propValue: 2000,
  batch: 500,
  /** Events older than this are refused; within it they are accepted as late events. */
  maxAgeMs: 72 * 3600_000,
  /** Clients with skewed clocks: a timestamp this far ahead is clamped to now, beyond it refused. */
  maxFutureMs: 5 * 60_000,
} as const;

export const siteIdSchema = z
  .string()
  .min(1)
  .max(limits.siteId)
  .regex(/^[A-Za-z0-9_.-]+$/, 'only letters, digits, dot, underscore and dash');

const absoluteUrl = z.string().max(limits.url).refine(isHttpUrl, 'must be an absolute http(s) URL');

/** One parse per event (URL.canParse and then new URL parsed twice); invalid URLs are the rare case. */
function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** Epoch milliseconds or an ISO 8601 string with a time zone. */
const timestampSchema = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true, error: 'must be ISO 8601 with a time zone, or epoch milliseconds' }),
]);

/** The body a server-side caller or our tracker sends to POST /v1/events (one event). */
export const eventInputSchema = z.strictObject({
  site_id: siteIdSchema,
  name: z.string().trim().min(1).max(limits.name),
  url: absoluteUrl,
  referrer: z.string().max(limits.url).optional(),
  props: z
    .record(
      z.string().min(1).max(limits.propKey),
      z.union([z.string().max(limits.propValue), z.number(), z.boolean()]),
    )
    .refine((props) => Object.keys(props).length <= limits.props, `at most ${limits.props} props`)
    .optional(),
  revenue: z
    .strictObject({
      amount: z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal number')]),
      currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
    })
    .optional(),
  event_id: z.uuid().optional(),
  timestamp: timestampSchema.optional(),
  interactive: z.boolean().optional(),
});

export type EventInput = z.infer<typeof eventInputSchema>;

/**
 * One event as it travels on Kafka (JSON) and lands in events_raw: the only definition of the
 * stored event. Timestamps are 'YYYY-MM-DD hh:mm:ss.sss' in UTC, the form ClickHouse's
 * JSONEachRow reads into DateTime64(3, 'UTC') without extra settings.
 */
export const storedEventSchema = z.strictObject({
  event_id: z.uuid(),
  site_id: siteIdSchema,
  name: z.string(),
  ts: z.string(),
  received_at: z.string(),
  url: z.string(),
  hostname: z.string(),
  pathname: z.string(),
  referrer: z.string(),
  props: z.record(z.string(), z.string()),
  revenue_amount: z.string().nullable(),
  revenue_currency: z.string(),
  interactive: z.boolean(),
  referrer_source: z.string(),
  channel: z.string(),
  utm_source: z.string(),
  utm_medium: z.string(),
  utm_campaign: z.string(),
  utm_content: z.string(),
  utm_term: z.string(),
  browser: z.string(),
  browser_version: z.string(),
  os: z.string(),
  device: z.string(),
  country: z.string(),
  is_bot: z.boolean(),
  visitor_id: z.string().regex(/^\d+$/, 'UInt64 as a decimal string'),
  enrich_version: z.number().int().nonnegative(),
  /** The original request body and the request facts enrichment used, so derived columns can be rebuilt. */
  raw: z.string(),
});

export type StoredEvent = z.infer<typeof storedEventSchema>;

/** Column names of events_raw that come from the event itself (the rest are Kafka metadata). */
export const storedEventColumns = Object.keys(storedEventSchema.shape) as (keyof StoredEvent)[];

/** 'YYYY-MM-DD hh:mm:ss.sss' in UTC. */
export function toClickHouseTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

export function fromClickHouseTime(value: string): number {
  return Date.parse(`${value.replace(' ', 'T')}Z`);
}
