import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
// The real contract, so that every body the tracker sends is one the real ingest accepts.
import { eventInputSchema } from '../../../core/src/event.js';
import { trackerScript } from '../../src/tracker/index.js';

/** One POST /v1/events as the stand-in collector saw it. */
export interface Delivery {
  body: Record<string, unknown> & { site_id: string; name: string; event_id: string };
  status: number;
  /** `text/plain` from fetch, `text/plain;charset=UTF-8` from sendBeacon. */
  contentType: string;
  /** `cors` for fetch, `no-cors` for sendBeacon. */
  fetchMode: string;
  origin: string;
}

/**
 * Answers like the collector: 202 with CORS headers. Event names choose a failure: `fail-once:…`
 * gets 503 on the first attempt of each event_id, `fail-always:…` always 503, `reject:…` 400.
 */
export interface StandInCollector {
  url: string;
  deliveries: Delivery[];
  /** OPTIONS requests: a text/plain POST must not need a preflight. */
  preflights: number;
  /** Bodies the real schema refuses (other than the deliberate `reject:` ones), with the reason. */
  contractViolations: string[];
  forSite(site: string): Delivery[];
  close(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST',
  'access-control-allow-headers': 'content-type',
};

export async function startStandInCollector(): Promise<StandInCollector> {
  const deliveries: Delivery[] = [];
  const contractViolations: string[] = [];
  const failedOnce = new Set<string>();
  let preflights = 0;

  const server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/t.js') {
      const { code, etag } = trackerScript();
      res.writeHead(200, { 'content-type': 'application/javascript; charset=utf-8', etag }).end(code);
      return;
    }
    if (req.method === 'GET' && req.url === '/landing') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>landing</title>');
      return;
    }
    if (req.method === 'OPTIONS') {
      preflights++;
      res.writeHead(204, CORS).end();
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/events') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await readBody(req)) as Delivery['body'];
    const status = answer(body);
    deliveries.push({
      body,
      status,
      contentType: req.headers['content-type'] ?? '',
      fetchMode: String(req.headers['sec-fetch-mode'] ?? ''),
      origin: req.headers.origin ?? '',
    });
    reply(res, status, body);
  });

  function answer(body: Delivery['body']): number {
    const checked = eventInputSchema.safeParse(body);
    if (body.name.startsWith('reject:')) return 400;
    if (!checked.success) {
      contractViolations.push(`${JSON.stringify(body)}: ${checked.error.message}`);
      return 400;
    }
    if (body.name.startsWith('fail-always:')) return 503;
    if (body.name.startsWith('fail-once:') && !failedOnce.has(body.event_id)) {
      failedOnce.add(body.event_id);
      return 503;
    }
    return 202;
  }

  const url = await listen(server);
  return {
    url,
    deliveries,
    get preflights() {
      return preflights;
    },
    contractViolations,
    forSite: (site) => deliveries.filter((d) => d.body.site_id === site),
    close: () => close(server),
  };
}

function reply(res: ServerResponse, status: number, body: Delivery['body']): void {
  const headers = { ...CORS, 'content-type': 'application/json' };
  if (status === 202) {
    res.writeHead(202, headers).end(JSON.stringify({ accepted: 1, event_ids: [body.event_id] }));
  } else if (status === 503) {
    res.writeHead(503, { ...headers, 'retry-after': '1' }).end(JSON.stringify({ error: 'unavailable' }));
  } else {
    res.writeHead(status, headers).end(JSON.stringify({ error: 'bad event' }));
  }
}

export interface PageOptions {
  site: string;
  /** Extra attributes on the script tag, e.g. 'data-outbound data-hash'. */
  attributes?: string;
  /** Markup in <head> before the tracker's tag (queue stubs, the page's own listeners). */
  head?: string;
  body?: string;
  /** Leave out data-allow-local: the tracker must then ignore this 127.0.0.1 page. */
  local?: false;
}

/** The merchant's site: another origin (port) whose pages include the tracker from the collector. */
export interface StandInSite {
  url: string;
  /** Registers a page and returns its URL; every path under it serves the same page (SPA). */
  page(path: string, options: PageOptions): string;
  close(): Promise<void>;
}

export async function startStandInSite(collectorUrl: string): Promise<StandInSite> {
  const pages = new Map<string, string>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const prefix = [...pages.keys()].filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pages.get(prefix));
  });
  const url = await listen(server);
  return {
    url,
    page(path, options) {
      const local = options.local === false ? '' : ' data-allow-local';
      const tag = `<script defer src="${collectorUrl}/t.js" data-site="${options.site}"${local} ${options.attributes ?? ''}></script>`;
      pages.set(
        path,
        `<!doctype html><html><head><meta charset="utf-8"><title>${path}</title>${options.head ?? ''}${tag}</head><body>${options.body ?? ''}</body></html>`,
      );
      return `${url}${path}`;
    },
    close: () => close(server),
  };
}

/** A site id of its own per test, so tests never read each other's events. */
export function uniqueSite(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Polls until `probe` returns something truthy; fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
  context: () => unknown = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; seen: ${JSON.stringify(context())}`,
      );
    }
    await sleep(20);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
