import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { toClickHouseTime } from './event.js';

export interface Site {
  site_id: string;
  domain: string;
  timezone: string;
  /** Page hostnames the site accepts events for; empty: any. Entries may start with '*.' for subdomains. */
  allowed_hostnames: string[];
  created_at: string;
}

const hostname = z
  .string()
  .toLowerCase()
  .regex(
    /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/,
    'must be a hostname such as shop.example.com or *.example.com',
  );

export const newSiteSchema = z.strictObject({
  domain: hostname.refine((d) => !d.startsWith('*.'), 'must be a hostname without a wildcard'),
  timezone: z
    .string()
    .default('UTC')
    .refine(
      (tz) => Intl.supportedValuesOf('timeZone').includes(tz) || tz === 'UTC',
      'must be an IANA time zone such as Europe/Berlin',
    ),
  allowed_hostnames: z.array(hostname).max(100).default([]),
});

export type NewSite = z.infer<typeof newSiteSchema>;

export class DomainTakenError extends Error {
  override name = 'DomainTakenError';
}

/** Opaque, URL-safe, unguessable enough to not be enumerable: 's_' and 16 base62-ish characters. */
function newSiteId(): string {
  return `s_${randomBytes(12).toString('base64url')}`;
}

export async function createSite(ch: ClickHouseClient, input: NewSite): Promise<Site> {
  const existing = await loadSites(ch);
  if (existing.some((s) => s.domain === input.domain))
    throw new DomainTakenError(`domain ${input.domain} already has a site`);
  const site: Site = { site_id: newSiteId(), ...input, created_at: toClickHouseTime(Date.now()) };
  await storeSites(ch, [site]);
  return site;
}

/** Writes sites as they are (a newer version of a site replaces the older one). */
export async function storeSites(ch: ClickHouseClient, sites: Site[]): Promise<void> {
  await ch.insert({
    table: 'sites',
    values: sites.map((site) => ({ ...site, version: Date.now() })),
    format: 'JSONEachRow',
  });
}

export async function loadSites(ch: ClickHouseClient): Promise<Site[]> {
  const result = await ch.query({
    query: `SELECT site_id, domain, timezone, allowed_hostnames, created_at FROM sites FINAL WHERE NOT deleted ORDER BY site_id`,
    format: 'JSONEachRow',
  });
  return result.json<Site>();
}

/** Whether a page hostname is one the site accepts events for. */
export function hostnameAllowed(site: Pick<Site, 'allowed_hostnames'>, host: string): boolean {
  if (site.allowed_hostnames.length === 0) return true;
  const h = host.toLowerCase();
  return site.allowed_hostnames.some((allowed) =>
    allowed.startsWith('*.') ? h === allowed.slice(2) || h.endsWith(allowed.slice(1)) : h === allowed,
  );
}
