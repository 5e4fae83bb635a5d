import { QueryError } from './errors.js';
import { type QueryReader, runQuery } from './run.js';

const TTL_MS = 60_000;

type Waiter = { resolve: (tz: string) => void; reject: (error: unknown) => void };

/**
 * The time zone of each site, kept for a minute: every query needs it and sites change rarely
 * (a changed zone shows within a minute). Sites not yet known are looked up together: while one
 * lookup runs, the sites asked for meanwhile wait for the next, so under many concurrent requests
 * for different sites a lookup serves many of them instead of costing each request a query.
 */
export class SiteZones {
  #cache = new Map<string, { tz: string; at: number }>();
  #waiting = new Map<string, Waiter[]>();
  #looking = false;

  get(ctx: QueryReader, siteId: string): Promise<string> {
    const hit = this.#cache.get(siteId);
    if (hit && Date.now() - hit.at < TTL_MS) return Promise.resolve(hit.tz);
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(siteId) ?? [];
      waiters.push({ resolve, reject });
      this.#waiting.set(siteId, waiters);
      if (!this.#looking) void this.#lookUp(ctx);
    });
  }

  async #lookUp(ctx: QueryReader): Promise<void> {
    this.#looking = true;
    while (this.#waiting.size > 0) {
      const batch = this.#waiting;
      this.#waiting = new Map();
      try {
        const rows = await runQuery<{ site_id: string; timezone: string }>(
          ctx,
          'SELECT site_id, timezone FROM sites FINAL WHERE site_id IN {sites:Array(String)} AND NOT deleted',
          { sites: [...batch.keys()] },
        );
        const found = new Map(rows.map((r) => [r.site_id, r.timezone]));
        const at = Date.now();
        for (const [siteId, tz] of found) this.#cache.set(siteId, { tz, at });
        for (const [siteId, waiters] of batch) {
          const tz = found.get(siteId);
          const unknown = new QueryError(404, 'unknown_site', `site ${siteId} does not exist`);
          for (const w of waiters) {
            if (tz) w.resolve(tz);
            else w.reject(unknown);
          }
        }
      } catch (error) {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
      }
    }
    this.#looking = false;
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
