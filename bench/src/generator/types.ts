import type { EventInput } from '@sightline/core';

/** One request as a real client would send it to POST /v1/events, with the facts enrichment reads. */
export interface GeneratedRequest {
  /** Always carries `event_id` (UUID) and `timestamp` (epoch ms). */
  body: EventInput;
  /** The visitor's IP, from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). */
  ip: string;
  userAgent: string;
  /** ISO 3166-1 alpha-2, as a CDN country header would carry it. */
  country: string;
  /**
   * 'duplicate' repeats an earlier body exactly (same event_id, same timestamp, so a retried late
   * event stays late), as a client retry does;
   * 'late' is a new event whose timestamp lies 1-48 h before `sentAt` (a flushed offline queue).
   */
  kind: 'original' | 'duplicate' | 'late';
  /** The generator's own truth, for accuracy checks: the visitor is a crawler or bot. */
  isBot: boolean;
  /**
   * Simulated clock when the client sends this request, in [start, start + durationMs).
   * Requests are yielded in `sentAt` order; for originals it equals `body.timestamp`.
   */
  sentAt: number;
  /** The generator's session the event belongs to (numbered from 1 in start order), for session checks. */
  sessionId: number;
}

export interface GeneratorOptions {
  seed: number;
  /** Site ids; traffic share follows Zipf over this order (the first site is the busiest). */
  sites: string[];
  /** Zipf exponent of the per-site traffic share; default 1.1. */
  zipfExponent?: number;
  /** Epoch ms where the simulated clock starts. */
  start: number;
  durationMs: number;
  /** Mean requests per second at the peak hour; the daily cycle scales it down to ~20% at night. Default 50. */
  eventsPerSecond?: number;
  /** Share of requests sent by bots; default 0.05. */
  botShare?: number;
  /** Share of requests that are client retries of an earlier request; default 0.02. */
  duplicateShare?: number;
  /** Share of requests that are late events (timestamp 1-48 h before sending); default 0.01. */
  lateShare?: number;
  /** Hostname of a site's pages; default `${siteId}.example`. */
  hostnameFor?: (siteId: string) => string;
  /** Directory holding browser-user-agents.jsonl and bot-user-agents.jsonl; default the repository's shared/data. */
  dataDir?: string | URL;
}
