import type { Logger, Site } from '@sightline/core';

export interface SiteCacheOptions {
  load: () => Promise<Site[]>;
  /** Background refresh period. */
  refreshMs?: number;
  /** A miss reloads at most this often, so a site created a moment ago works at once without a storm of reloads for unknown ids. */
  missRefreshMs?: number;
  logger: Logger;
}

/** Every site in memory: each event is checked against it without a round trip to ClickHouse. */
export class SiteCache {
  #byId = new Map<string, Site>();
  #byDomain = new Map<string, Site>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SiteCacheOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh().catch(() => {}), this.options.refreshMs ?? 10_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  refresh(): Promise<void> {
    this.#loading ??= this.options
      .load()
      .then((sites) => {
        this.#byId = new Map(sites.map((s) => [s.site_id, s]));
        this.#byDomain = new Map(sites.map((s) => [s.domain, s]));
        this.#loadedAt = Date.now();
      })
      .catch((error: unknown) => {
        // Keep serving the last known sites: ClickHouse being down must not stop ingest.
        this.options.logger.warn({ err: error }, 'could not reload sites; keeping the cached list');
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** A site created in this process is usable at once, before the next refresh. */
  add(site: Site): void {
    this.#byId.set(site.site_id, site);
    this.#byDomain.set(site.domain, site);
  }

  async byId(siteId: string): Promise<Site | undefined> {
    return this.#byId.get(siteId) ?? (await this.#afterMiss(() => this.#byId.get(siteId)));
  }

  async byDomain(domain: string): Promise<Site | undefined> {
    const key = domain.toLowerCase().replace(/^www\./, '');
    return this.#byDomain.get(key) ?? (await this.#afterMiss(() => this.#byDomain.get(key)));
  }

  async #afterMiss(lookup: () => Site | undefined): Promise<Site | undefined> {
    if (this.#loading) await this.#loading;
    else if (Date.now() - this.#loadedAt >= (this.options.missRefreshMs ?? 1000)) await this.refresh();
    return lookup();
  }
}
