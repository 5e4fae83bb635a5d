import { type EventInput, limits } from '@sightline/core';
import { regexes } from 'zod';

const knownKeys = new Set(['site_id', 'name', 'url', 'referrer', 'event_id', 'timestamp', 'interactive']);
// As core's siteIdSchema and z.uuid(); the agreement test in test/plain-event.test.ts compares the
// two paths on valid and invalid bodies.
const siteIdPattern = /^[A-Za-z0-9_.-]+$/;
const uuidPattern = regexes.uuid();

/**
 * The contract's checks (core's eventInputSchema) for the common event, without zod, and its page
 * URL parsed once: zod took about a twelfth of the ingest role's thread under batches, and its URL
 * check parses the URL once more. Anything else (props, revenue, a timestamp as text, a key the
 * contract does not know, a value that fails a check) is undefined, and goes through the schema,
 * which also words the rejection. The input's keys are in the schema's order, as zod gives them:
 * `raw` keeps JSON.stringify(input).
 */
export function plainEvent(item: unknown): { input: EventInput; url: URL } | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  for (const key in item) if (!knownKeys.has(key)) return undefined;
  const { site_id, name, url, referrer, event_id, timestamp, interactive } = item as Record<string, unknown>;
  if (typeof site_id !== 'string' || site_id.length < 1 || site_id.length > limits.siteId) return undefined;
  if (!siteIdPattern.test(site_id)) return undefined;
  if (typeof name !== 'string') return undefined;
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > limits.name) return undefined;
  if (typeof url !== 'string' || url.length > limits.url) return undefined;
  if (referrer !== undefined && (typeof referrer !== 'string' || referrer.length > limits.url))
    return undefined;
  if (event_id !== undefined && (typeof event_id !== 'string' || !uuidPattern.test(event_id)))
    return undefined;
  if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && (timestamp as number) >= 0))
    return undefined;
  if (interactive !== undefined && typeof interactive !== 'boolean') return undefined;
  let page: URL;
  try {
    page = new URL(url);
  } catch {
    return undefined;
  }
  if (page.protocol !== 'http:' && page.protocol !== 'https:') return undefined;
  const input: EventInput = { site_id, name: trimmed, url };
  if (referrer !== undefined) input.referrer = referrer as string;
  if (event_id !== undefined) input.event_id = event_id as string;
  if (timestamp !== undefined) input.timestamp = timestamp as number;
  if (interactive !== undefined) input.interactive = interactive;
  return { input, url: page };
}
