import { QueryError } from './errors.js';
import { type QueryReader, runQuery } from './run.js';
import type { SiteReads } from './site-reads.js';

const TTL_MS = 60_000;

/**
 * The time zone of each site, kept for a minute: every query needs it and sites change rarely
 * (a changed zone shows within a minute). Sites not yet known are looked up through SiteReads, so
 * under many concurrent requests for different sites one lookup serves many of them.
 */
export class SiteZones {
  #cache = new Map<string, { tz: string; at: number }>();

  async get(reads: SiteReads, siteId: string): Promise<string> {
    const hit = this.#cache.get(siteId);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.tz;
    const [row] = await reads.read(
      'SELECT site_id, timezone FROM sites FINAL WHERE site_id IN {sites:Array(String)} AND NOT deleted',
      {},
      siteId,
    );
    if (!row) throw new QueryError(404, 'unknown_site', `site ${siteId} does not exist`);
    const tz = String(row.timezone);
    this.#cache.set(siteId, { tz, at: Date.now() });
    return tz;
  }
}

/** A site named by its id or, as Plausible clients do, by its domain. */
export async function resolveSite(ctx: QueryReader, ref: string): Promise<{ siteId: string; tz: string }> {
  const [row] = await runQuery<{ site_id: string; timezone: string }>(
    ctx,
    `SELECT site_id, timezone FROM sites FINAL
     WHERE (site_id = {ref:String} OR domain = {ref:String}) AND NOT deleted
     ORDER BY site_id = {ref:String} DESC LIMIT 1`,
    { ref },
  );
  if (!row) throw new QueryError(404, 'unknown_site', `site ${ref} does not exist`);
  return { siteId: row.site_id, tz: row.timezone };
}
