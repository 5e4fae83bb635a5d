import type { ClickHouseClient } from '@sightline/core';
import { runQuery } from './run.js';

/** A query's result rows name their site: every site read selects `site_id`. */
export type SiteRow = { site_id: string } & Record<string, unknown>;

type Waiter = { resolve: (rows: SiteRow[]) => void; reject: (error: unknown) => void };

interface Pending {
  query: string;
  params: Record<string, unknown>;
  sites: Map<string, Waiter[]>;
}

/** The most sites one query answers for; more wait for the next free connection. */
const MAX_SITES_PER_QUERY = 200;

/**
 * One query for many requests. A ClickHouse query costs milliseconds of parsing, analysis and
 * pipeline building whatever it reads (5 to 40 ms in chDB on this machine), while one site's few
 * hundred rollup rows cost a fraction of that to read; so under load the connections, not the data,
 * are the limit. Reads therefore take their sites as `{sites:Array(String)}` and return rows with
 * `site_id`: a read runs at once while a connection is free, and while every connection is busy,
 * reads whose query and parameters differ only in their site wait together, and the next free
 * connection answers all of them (up to MAX_SITES_PER_QUERY) with one query. Gathering adds no wait
 * when the service is idle, as ingest's producer gathers events only while a send is in flight;
 * reads of the same site share the rows.
 */
export class SiteReads {
  readonly #idle: ClickHouseClient[];
  /** Waiting reads by query and parameters, in the order the first of each arrived. */
  readonly #waiting = new Map<string, Pending>();

  constructor(
    slots: readonly ClickHouseClient[],
    readonly timeoutSeconds: number,
    readonly threads = 1,
  ) {
    this.#idle = [...slots];
  }

  /**
   * The rows of one site: `query` reads `site_id IN {sites:Array(String)}` and selects `site_id`;
   * `params` holds every other parameter.
   */
  read(query: string, params: Record<string, unknown>, siteId: string): Promise<SiteRow[]> {
    const key = `${query}\n${JSON.stringify(params)}`;
    let pending = this.#waiting.get(key);
    if (!pending) {
      pending = { query, params, sites: new Map() };
      this.#waiting.set(key, pending);
    }
    const waiters = pending.sites.get(siteId) ?? [];
    pending.sites.set(siteId, waiters);
    const rows = new Promise<SiteRow[]>((resolve, reject) => waiters.push({ resolve, reject }));
    this.#dispatch();
    return rows;
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#waiting.size > 0) {
      const [key, pending] = this.#waiting.entries().next().value as [string, Pending];
      const sites = new Map<string, Waiter[]>();
      for (const [siteId, waiters] of pending.sites) {
        if (sites.size === MAX_SITES_PER_QUERY) break;
        sites.set(siteId, waiters);
        pending.sites.delete(siteId);
      }
      // What is left of a large gathering goes behind the others, so no query shape waits forever.
      this.#waiting.delete(key);
      if (pending.sites.size > 0) this.#waiting.set(key, pending);
      void this.#run(this.#idle.pop()!, pending, sites);
    }
  }

  async #run(ch: ClickHouseClient, pending: Pending, sites: Map<string, Waiter[]>): Promise<void> {
    try {
      const rows = await runQuery<SiteRow>(
        { ch, timeoutSeconds: this.timeoutSeconds, threads: this.threads },
        pending.query,
        {
          ...pending.params,
          sites: [...sites.keys()],
        },
      );
      const bySite = new Map<string, SiteRow[]>();
      for (const row of rows) {
        const list = bySite.get(row.site_id);
        if (list) list.push(row);
        else bySite.set(row.site_id, [row]);
      }
      for (const [siteId, waiters] of sites) for (const w of waiters) w.resolve(bySite.get(siteId) ?? []);
    } catch (error) {
      for (const waiters of sites.values()) for (const w of waiters) w.reject(error);
    } finally {
      this.#idle.push(ch);
      this.#dispatch();
    }
  }
}
