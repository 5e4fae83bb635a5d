import { type Limit, type Redis, RedisRateLimit } from '@sightline/core';

export type { Limit };

/** Per-IP and per-site limits of ingest, counted in Redis (see RedisRateLimit). */
export class RateLimits {
  readonly #ip: RedisRateLimit;
  readonly #site: RedisRateLimit;

  constructor(redis: Redis, options: { ipPerMinute: number; sitePerMinute: number }) {
    this.#ip = new RedisRateLimit(redis, { prefix: 'ip', perMinute: options.ipPerMinute });
    this.#site = new RedisRateLimit(redis, { prefix: 'site', perMinute: options.sitePerMinute });
  }

  ip(ip: string): Promise<Limit> {
    return this.#ip.consume(ip);
  }

  site(siteId: string, events: number): Promise<Limit> {
    return this.#site.consume(siteId, events);
  }
}
