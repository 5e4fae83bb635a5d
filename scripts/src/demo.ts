import { generateTraffic } from '@sightline/bench';
import type { Logger } from '@sightline/core';

export const DEMO_DOMAIN = 'demo.sightline.local';

/** The demo site's id: created through the admin API the first time, found by its domain after. */
export async function ensureDemoSite(baseUrl: string, adminToken: string): Promise<string> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const list = (await (await fetch(`${baseUrl}/v1/admin/sites`, { headers })).json()) as {
    sites: { site_id: string; domain: string }[];
  };
  const existing = list.sites.find((s) => s.domain === DEMO_DOMAIN);
  if (existing) return existing.site_id;
  const created = await fetch(`${baseUrl}/v1/admin/sites`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ domain: DEMO_DOMAIN, timezone: 'UTC' }),
  });
  if (created.status !== 201) throw new Error(`could not create the demo site: ${await created.text()}`);
  return ((await created.json()) as { site_id: string }).site_id;
}

/**
 * `npm start -- --demo`: streams generated traffic for the demo site into the service's own ingest
 * API, in real time, as browsers would send it. Stops when the signal aborts.
 */
export async function streamDemoTraffic(
  baseUrl: string,
  siteId: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const start = Date.now();
  const traffic = generateTraffic({
    seed: 42,
    sites: [siteId],
    start,
    durationMs: 7 * 86_400_000,
    eventsPerSecond: 5,
    hostnameFor: () => DEMO_DOMAIN,
  });
  let sent = 0;
  let failed = 0;
  const report = setInterval(() => logger.info({ sent, failed }, 'demo traffic'), 30_000);
  try {
    for (const request of traffic) {
      if (signal.aborted) return;
      // Generated timestamps run on a simulated clock starting now: wait for each to come due.
      const due = Number(request.body.timestamp) - Date.now();
      if (due > 0) await sleep(due, signal);
      if (signal.aborted) return;
      const response = await fetch(`${baseUrl}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': request.userAgent,
          'x-forwarded-for': request.ip,
        },
        body: JSON.stringify(request.body),
        signal,
      }).catch(() => undefined);
      if (response?.status === 202) sent += 1;
      else failed += 1;
    }
  } finally {
    clearInterval(report);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
