import { createHmac, randomUUID } from 'node:crypto';
import { type EventInput, limits, type StoredEvent, toClickHouseTime } from '@sightline/core';
import type { Enricher } from './enrichment/index.js';

/** Bumped whenever a derived column would come out differently for the same raw input. */
export const ENRICH_VERSION = 1;

/** What enrichment reads from the HTTP request besides the body. The IP is used, never stored. */
export interface RequestFacts {
  ip: string;
  userAgent: string;
  /** From the trusted CDN header, when configured. */
  country: string;
  /** Kept in `raw`: the bot signals read it, so a rebuild from raw must have it too. */
  acceptLanguage: string | undefined;
  receivedAt: number;
}

export type Clamped = { ok: true; ts: number } | { ok: false; reason: string };

/** Event time: the client's timestamp when plausible, else arrival time. */
export function clampTimestamp(timestamp: EventInput['timestamp'], receivedAt: number): Clamped {
  if (timestamp === undefined) return { ok: true, ts: receivedAt };
  const ts = typeof timestamp === 'number' ? timestamp : Date.parse(timestamp);
  if (ts > receivedAt + limits.maxFutureMs)
    return { ok: false, reason: 'is more than 5 minutes in the future' };
  if (ts < receivedAt - limits.maxAgeMs) return { ok: false, reason: 'is more than 72 hours in the past' };
  return { ok: true, ts: Math.min(ts, receivedAt) };
}

// The last id made: every event of a batch request shares the site, IP and UA, so a batch costs one
// HMAC. Only one entry, so no list of recent IPs builds up in memory.
// Compared field by field, so a hit builds no key string.
let last: { salt: Buffer; siteId: string; ip: string; userAgent: string; id: string } | undefined;

export function visitorId(salt: Buffer, siteId: string, facts: RequestFacts): string {
  const { ip, userAgent } = facts;
  if (last?.salt === salt && last.siteId === siteId && last.ip === ip && last.userAgent === userAgent)
    return last.id;
  const key = `${siteId}\n${ip}\n${userAgent}`;
  const id = createHmac('sha256', salt).update(key).digest().readBigUInt64BE(0).toString();
  last = { salt, siteId, ip, userAgent, id };
  return id;
}

// The last time formatted: an event without a timestamp has ts = received_at, and the events of one
// request share received_at, so most events format one time instead of two.
let lastTime = { ms: Number.NaN, text: '' };

function clickHouseTime(ms: number): string {
  if (ms !== lastTime.ms) lastTime = { ms, text: toClickHouseTime(ms) };
  return lastTime.text;
}

/**
 * Builds the stored event from a validated body: every derived column comes from the body and the
 * request facts, which `raw` keeps, so a rebuild from raw with this code gives the same row. The
 * timestamp must already be clamped; `url` is input.url, parsed. Written field by field, in the
 * contract's column order (the order of the Kafka row), without intermediate objects: it runs once
 * per event on the thread that limits ingest.
 */
export function toStoredEvent(
  input: EventInput,
  ts: number,
  facts: RequestFacts,
  salt: Buffer,
  enricher: Enricher,
  url = new URL(input.url),
): StoredEvent {
  const derived = enricher.enrich({
    userAgent: facts.userAgent,
    referrer: input.referrer ?? '',
    pageUrl: url,
    headers: { 'accept-language': facts.acceptLanguage },
  });
  const query = url.searchParams;
  return {
    event_id: input.event_id ?? randomUUID(),
    site_id: input.site_id,
    name: input.name,
    ts: clickHouseTime(ts),
    received_at: clickHouseTime(facts.receivedAt),
    url: input.url,
    hostname: url.hostname.replace(/^www\./, ''),
    pathname: normalisePath(url.pathname),
    referrer: input.referrer ?? '',
    props: stringProps(input.props),
    revenue_amount: input.revenue ? String(input.revenue.amount) : null,
    revenue_currency: input.revenue?.currency ?? '',
    interactive: input.interactive ?? true,
    referrer_source: derived.referrer_source,
    channel: derived.channel,
    utm_source: query.get('utm_source') ?? '',
    utm_medium: query.get('utm_medium') ?? '',
    utm_campaign: query.get('utm_campaign') ?? '',
    utm_content: query.get('utm_content') ?? '',
    utm_term: query.get('utm_term') ?? '',
    browser: derived.browser,
    browser_version: derived.browser_version,
    os: derived.os,
    device: derived.device,
    country: facts.country,
    is_bot: derived.is_bot,
    visitor_id: visitorId(salt, input.site_id, facts),
    enrich_version: ENRICH_VERSION,
    raw: `{"body":${JSON.stringify(input)}${rawFacts(facts)}`,
  };
}

// The request facts' part of `raw`, the same for every event of a request: written once per request.
// raw reads as JSON.stringify({ body, user_agent, country, accept_language }).
let lastFacts: { facts: RequestFacts; json: string } | undefined;

function rawFacts(facts: RequestFacts): string {
  if (lastFacts?.facts !== facts) {
    const json = JSON.stringify({
      user_agent: facts.userAgent,
      country: facts.country,
      accept_language: facts.acceptLanguage ?? null,
    });
    lastFacts = { facts, json: `,${json.slice(1)}` };
  }
  return lastFacts.json;
}

/** Props' values as strings (the column is Map(String, String)). */
function stringProps(props: EventInput['props']): Record<string, string> {
  if (props === undefined) return {};
  return Object.fromEntries(Object.entries(props).map(([key, value]) => [key, String(value)]));
}

/** '/pricing/' and '/pricing' are one page; '' is '/'. */
function normalisePath(pathname: string): string {
  if (pathname.length > 1 && pathname.endsWith('/')) return pathname.slice(0, -1);
  return pathname || '/';
}
