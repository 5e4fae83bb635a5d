import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@sightline/core';
import type { Embedded } from '../../src/embedded.js';

export const logger = createLogger({ LOG_LEVEL: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'fatal' });

export async function createSite(service: Embedded, domain: string): Promise<string> {
  const response = await fetch(`${service.url}/v1/admin/sites`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminToken}` },
    body: JSON.stringify({ domain }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { site_id: string }).site_id;
}

/** Sends events with `concurrency` parallel senders until `until()`; returns the statuses and acknowledged ids. */
export async function steadyLoad(service: Embedded, siteId: string, until: () => boolean, concurrency = 8) {
  const acked: string[] = [];
  const statuses = new Map<number, number>();
  const sender = async () => {
    while (!until()) {
      const eventId = randomUUID();
      const response = await fetch(`${service.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          site_id: siteId,
          name: 'pageview',
          url: 'https://fault.example/',
          event_id: eventId,
        }),
      }).catch(() => undefined);
      const status = response?.status ?? 0;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 202) acked.push(eventId);
      else await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { acked, statuses };
}

export async function waitForEvents(service: Embedded, ids: string[], waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  let found = 0;
  while (Date.now() < deadline) {
    const result = await service.clickhouse.client.query({
      query: 'SELECT uniqExact(event_id) AS n FROM events_raw WHERE has({ids:Array(UUID)}, event_id)',
      query_params: { ids },
      format: 'JSONEachRow',
    });
    found = Number((await result.json<{ n: number }>())[0]!.n);
    if (found === ids.length) return found;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return found;
}
