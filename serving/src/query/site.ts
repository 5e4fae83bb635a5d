import { QueryError } from './errors.js';
import { type QueryReader, runQuery } from './run.js';

const TTL_MS = 60_000;

/**
 * The time zone of each site, kept for a minute: every query needs it and sites change rarely
 * (a changed zone shows within a minute).
 */
export class SiteZones {
  #cache = new Map<string, { tz: string; at: number }>();

  async get(ctx: QueryReader, siteId: string): Promise<string> {
    const hit = this.#cache.get(siteId);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.tz;
    const [row] = await runQuery<{ timezone: string }>(
      ctx,
      'SELECT timezone FROM sites FINAL WHERE site_id = {site:String} AND NOT deleted',
      { site: siteId },
    );
    if (!row) throw new QueryError(404, 'unknown_site', `site ${siteId} does not exist`);
    this.#cache.set(siteId, { tz: row.timezone, at: Date.now() });
    return row.timezone;
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
