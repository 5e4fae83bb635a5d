import {
  type ErrorBody,
  type EventInput,
  errorBody,
  eventInputSchema,
  hostnameAllowed,
  invalidEvent,
  type StoredEvent,
} from '@sightline/core';
import { clampTimestamp, type RequestFacts, toStoredEvent } from './enrich.js';
import type { Enricher } from './enrichment/index.js';
import type { SiteCache } from './site-cache.js';
import type { VisitorSalts } from './visitor-salt.js';

export type Verdict = { ok: true; event: StoredEvent } | { ok: false; error: ErrorBody };

export interface AcceptDeps {
  sites: SiteCache;
  salts: VisitorSalts;
  enricher: Enricher;
}

/**
 * One body item through every check, in order: the contract (zod), the site, the page's hostname,
 * the timestamp; then enrichment. A rejection is a value naming the rule, never an exception.
 */
export async function acceptEvent(item: unknown, facts: RequestFacts, deps: AcceptDeps): Promise<Verdict> {
  const parsed = eventInputSchema.safeParse(item);
  if (!parsed.success) return { ok: false, error: invalidEvent(parsed.error) };
  return acceptInput(parsed.data, facts, deps);
}

/** The checks after the contract, for bodies already in the native shape (e.g. from the Plausible form). */
export async function acceptInput(
  input: EventInput,
  facts: RequestFacts,
  deps: AcceptDeps,
): Promise<Verdict> {
  const site = await deps.sites.byId(input.site_id);
  if (!site) {
    return reject(
      'unknown_site',
      'site_id',
      `site_id ${input.site_id} is not a registered site: create it with POST /v1/admin/sites`,
    );
  }
  const url = new URL(input.url);
  const host = url.hostname;
  if (!hostnameAllowed(site, host)) {
    return reject('hostname_not_allowed', 'url', `hostname ${host} is not in the site's allowed_hostnames`);
  }
  const clamped = clampTimestamp(input.timestamp, facts.receivedAt);
  if (!clamped.ok) return reject('timestamp_out_of_range', 'timestamp', `timestamp ${clamped.reason}`);
  return {
    ok: true,
    event: toStoredEvent(input, clamped.ts, facts, await deps.salts.forDay(clamped.ts), deps.enricher, url),
  };
}

function reject(code: string, path: string, message: string): Verdict {
  return { ok: false, error: errorBody(code, message, [{ path, message }]) };
}
