import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Site } from '@sightline/core';
import { root, until } from '../ingest/service-process.js';
import { sleep } from '../speed/util.js';
import type { Ledger } from './ledger.js';

/**
 * Applies the schema to the chDB of a role's environment (its DATA_DIR) and stores `sites` there, in
 * a child process (bench/src/seed-sites.ts): for an ingest role started without a serving process.
 */
export async function seedSites(env: Record<string, string>, sites: Site[]): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      path.join(root, 'bench/src/seed-sites.ts'),
      JSON.stringify(sites),
    ],
    { cwd: root, env: { ...process.env, ...env } },
  );
}

/** POST /v1/events with `ids` as pageviews of `site`; undefined when nothing answered. */
export function postEvents(url: string, site: string, ids: string[], timestamp: () => number) {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Soak/1.0',
    },
    body: JSON.stringify({
      events: ids.map((event_id) => ({
        site_id: site,
        name: 'pageview',
        url: `https://soak.example/p/${event_id.slice(-2)}`,
        event_id,
        timestamp: timestamp(),
      })),
    }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
}

/** The admin and analyst APIs of a running service, as the soak and the restart test use them. */
export class ServiceClient {
  readonly #admin: Record<string, string>;

  constructor(
    readonly url: string,
    adminToken: string,
  ) {
    this.#admin = { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` };
  }

  async post<T>(route: string, body: unknown, status: number, headers = this.#admin): Promise<T> {
    const response = await fetch(`${this.url}${route}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    if (response.status !== status) throw new Error(`${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async createSite(domain: string): Promise<string> {
    return (await this.post<{ site_id: string }>('/v1/admin/sites', { domain }, 201)).site_id;
  }

  /** A read key for the sites, as request headers. */
  async readerFor(sites: string[]): Promise<Record<string, string>> {
    const { key } = await this.post<{ key: string }>('/v1/admin/keys', { name: 'soak', sites }, 201);
    return { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  }

  /**
   * The first row of an analyst query over the site's data (the view events is events_raw; hourly
   * is the Lambda merge): only the service's process can open its chDB directory.
   */
  async sql(reader: Record<string, string>, site: string, query: string): Promise<Record<string, unknown>> {
    for (;;) {
      const response = await fetch(`${this.url}/v1/sql`, {
        method: 'POST',
        headers: reader,
        body: JSON.stringify({ query, site_id: site }),
      });
      if (response.status === 429 || response.status === 503) {
        await sleep(1000 * Number(response.headers.get('retry-after') ?? 1));
        continue;
      }
      const body = (await response.json()) as { data?: Record<string, unknown>[] };
      if (response.status !== 200 || !body.data?.[0])
        throw new Error(`sql: ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
      return body.data[0];
    }
  }

  /** Waits until events_raw holds every event the ledger acknowledged; how many it found. */
  async waitStored(
    reader: Record<string, string>,
    site: string,
    ledger: Ledger,
    ms: number,
  ): Promise<number> {
    let found: number | undefined;
    let failure: unknown;
    await until(
      async () => {
        const stored = await this.sql(reader, site, ledger.storedQuery()).catch((error: unknown) => {
          failure = error;
          throw error;
        });
        found = ledger.found(stored as { requests: number[]; events: number[] });
        return found === ledger.ackedEvents;
      },
      ms,
      5000,
    );
    // A query that never answered is the soak's own failure, not a loss.
    if (found === undefined) throw failure;
    return found;
  }

  /** Recomputes the hour through the batch layer (as npm run reprocess does); whether it committed in time. */
  async commitHour(hourStart: number, timeoutMs: number): Promise<boolean> {
    const since = Date.now();
    const range = await this.post<{ from: string; to: string; hours: number }>(
      '/v1/admin/reprocess',
      { from: new Date(hourStart).toISOString(), to: new Date(hourStart + 3_600_000).toISOString() },
      202,
    );
    const query = new URLSearchParams({ since: String(since), from: range.from, to: range.to });
    const committed = await until(
      async () => {
        const response = await fetch(`${this.url}/v1/admin/batch?${query}`, { headers: this.#admin });
        const status = (await response.json()) as { runs_since: { committed: number } };
        return status.runs_since.committed >= range.hours;
      },
      timeoutMs,
      2000,
    );
    return committed !== undefined;
  }

  /**
   * The site's stored events (all timed in the hour) and the merged rollup's pageviews and sources
   * for the hour.
   */
  async hourCounts(reader: Record<string, string>, site: string, hourStart: number) {
    const stored = await this.sql(
      reader,
      site,
      'SELECT count() AS rows, uniqExact(event_id) AS distinct_ids, uniqExactIf(event_id, NOT is_bot) AS counted FROM events',
    );
    const hourly = await this.sql(
      reader,
      site,
      `SELECT sum(pageviews) AS pageviews, toString(groupUniqArray(source)) AS sources FROM hourly WHERE hour = toDateTime(${hourStart / 1000}, 'UTC')`,
    );
    return {
      rows: Number(stored.rows),
      distinctIds: Number(stored.distinct_ids),
      counted: Number(stored.counted),
      rollup: Number(hourly.pageviews),
      sources: String(hourly.sources),
    };
  }
}
