import { randomUUID } from 'node:crypto';

/** The body of POST /v1/events, as a server-side caller writes it. */
export interface TrackEvent {
  site_id: string;
  name: string;
  url: string;
  referrer?: string;
  props?: Record<string, string | number | boolean>;
  revenue?: { amount: number | string; currency: string };
  event_id?: string;
  timestamp?: number | string;
  interactive?: boolean;
}

export interface ClientOptions {
  /** Base URL of the ingest service, e.g. http://localhost:8080. */
  endpoint: string;
  /** Attempts for one event before giving up (default 4); retries reuse the same event_id. */
  attempts?: number;
  fetch?: typeof fetch;
}

/** The visitor's request facts, forwarded so the event is attributed to the visitor, not to your server. */
export interface Visitor {
  /** The visitor's User-Agent header; without it the event carries the server's and counts as a bot. */
  userAgent?: string;
  /** The visitor's IP address (sent as X-Forwarded-For; used for the visitor id, never stored). */
  ip?: string;
}

export type TrackResult =
  | { ok: true; eventId: string }
  | { ok: false; eventId: string; status: number; error: { code: string; message: string } };

/**
 * A small server-side client: one call per event, an event_id fixed before the first attempt so a
 * retry after a timeout or a 503 can never count twice, and exponential backoff between attempts.
 * A 4xx is the caller's mistake and is returned at once, not retried.
 */
export function createSightlineClient(options: ClientOptions) {
  const attempts = options.attempts ?? 4;
  const doFetch = options.fetch ?? fetch;
  return {
    async track(event: TrackEvent, visitor: Visitor = {}): Promise<TrackResult> {
      const body = { ...event, event_id: event.event_id ?? randomUUID() };
      let last: TrackResult = {
        ok: false,
        eventId: body.event_id,
        status: 0,
        error: { code: 'unreachable', message: 'no attempt made' },
      };
      for (let attempt = 0; attempt < attempts; attempt += 1) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        try {
          const response = await doFetch(`${options.endpoint}/v1/events`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(visitor.userAgent ? { 'user-agent': visitor.userAgent } : {}),
              ...(visitor.ip ? { 'x-forwarded-for': visitor.ip } : {}),
            },
            body: JSON.stringify(body),
          });
          if (response.ok) return { ok: true, eventId: body.event_id };
          const { error } = (await response.json()) as { error: { code: string; message: string } };
          last = { ok: false, eventId: body.event_id, status: response.status, error };
          if (response.status < 500 && response.status !== 429) return last;
        } catch (error) {
          last = {
            ok: false,
            eventId: body.event_id,
            status: 0,
            error: { code: 'unreachable', message: error instanceof Error ? error.message : String(error) },
          };
        }
      }
      return last;
    },
  };
}
