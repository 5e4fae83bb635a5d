import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@sightline/core';
import type { Embedded } from './embedded.js';
import { type FuzzReport, type FuzzTargets, fuzzSurface } from './fuzz-surface.js';

export interface FuzzOutcome extends FuzzReport {
  /** Rows in events_raw that no fuzz request was acknowledged for (0 when nothing rejected was stored). */
  unacknowledgedRows: number;
  /** Acknowledged events missing from events_raw. */
  missingRows: number;
  deadLetters: number;
  healthyAfter: boolean;
}

async function count(ch: ClickHouseClient, query: string): Promise<number> {
  const result = await ch.query({ query, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
}

async function post(service: Embedded, path: string, body: unknown): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminToken}` },
    body: JSON.stringify(body),
  });
}

/**
 * Fuzzes a running embedded service: two tenants (site A with a read key, site B with a few events
 * of a page named by a secret the answers must never hold), the generated requests, then events_raw
 * compared with what was acknowledged once the stream has caught up.
 */
export async function fuzzService(
  service: Embedded,
  options: { runs: number; seed: number; only?: (endpoint: string) => boolean; settleMs?: number },
): Promise<FuzzOutcome> {
  const tag = randomUUID().slice(0, 8);
  const site = async (domain: string) => {
    const response = await post(service, '/v1/admin/sites', { domain });
    if (response.status !== 201)
      throw new Error(`site ${domain}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { site_id: string }).site_id;
  };
  const siteA = { id: await site(`a-${tag}.fuzz.example`), domain: `a-${tag}.fuzz.example`, key: '' };
  const siteB = {
    id: await site(`b-${tag}.fuzz.example`),
    domain: `b-${tag}.fuzz.example`,
    secret: `secret-${tag}`,
  };
  const key = await post(service, '/v1/admin/keys', { name: 'fuzz', sites: [siteA.id] });
  if (key.status !== 201) throw new Error(`key: ${key.status} ${await key.text()}`);
  siteA.key = ((await key.json()) as { key: string }).key;

  const ch = service.clickhouse.client;
  const seeded = 5;
  const seed = await post(service, '/v1/events', {
    events: Array.from({ length: seeded }, () => ({
      site_id: siteB.id,
      name: 'pageview',
      url: `https://${siteB.domain}/${siteB.secret}`,
    })),
  });
  if (seed.status !== 202) throw new Error(`seed: ${seed.status} ${await seed.text()}`);
  const rows = () => count(ch, 'SELECT count() AS n FROM events_raw');
  const settle = async (expected: number, waitMs: number) => {
    const deadline = Date.now() + waitMs;
    let n = await rows();
    while (n < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      n = await rows();
    }
    return n;
  };
  await settle(seeded, 60_000);

  const targets: FuzzTargets = { app: service.app, siteA, siteB };
  const report = await fuzzSurface(targets, options);

  const expected = seeded + report.acknowledged;
  let stored = await settle(expected, 120_000);
  // Anything stored beyond the acknowledged would arrive with the same stream: give it time to.
  await new Promise((r) => setTimeout(r, options.settleMs ?? 5_000));
  stored = await rows();
  const health = await service.app.inject('/health');
  return {
    ...report,
    unacknowledgedRows: Math.max(0, stored - expected),
    missingRows: Math.max(0, expected - stored),
    deadLetters: await count(ch, 'SELECT count() AS n FROM events_dead_letter'),
    healthyAfter: health.statusCode === 200,
  };
}
