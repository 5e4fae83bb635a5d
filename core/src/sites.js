import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { toClickHouseTime } from './event.js';

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
export class DomainTakenError extends Error {
  name = 'DomainTakenError';
}
/** Opaque, URL-safe, unguessable enough to not be enumerable: 's_' and 16 base62-ish characters. */
function newSiteId() {
  return `s_${randomBytes(12).toString('base64url')}`;
}
export async function createSite(ch, input) {
  const existing = await loadSites(ch);
  if (existing.some((s) => s.domain === input.domain))
    throw new DomainTakenError(`domain ${input.domain} already has a site`);
  const site = { site_id: newSiteId(), ...input, created_at: toClickHouseTime(Date.now()) };
  await ch.insert({ table: 'sites', values: [{ ...site, version: Date.now() }], format: 'JSONEachRow' });
  return site;
}
export async function loadSites(ch) {
  const result = await ch.query({
    query: `SELECT site_id, domain, timezone, allowed_hostnames, created_at FROM sites FINAL WHERE NOT deleted ORDER BY site_id`,
    format: 'JSONEachRow',
  });
  return result.json();
}
/** Whether a page hostname is one the site accepts events for. */
export function hostnameAllowed(site, host) {
  if (site.allowed_hostnames.length === 0) return true;
  const h = host.toLowerCase();
  return site.allowed_hostnames.some((allowed) =>
    allowed.startsWith('*.') ? h === allowed.slice(2) || h.endsWith(allowed.slice(1)) : h === allowed,
  );
}
