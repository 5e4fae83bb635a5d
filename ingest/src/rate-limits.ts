import type { Redis } from '@sightline/core';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type Limit = { ok: true } | { ok: false; retryAfterSeconds: number };

type Limiter = RateLimiterRedis | undefined;

/**
 * Per-IP and per-site limits, counted in Redis so they hold across ingest instances. If Redis is
 * unreachable each instance falls back to counting in memory: limits loosen for a while, but ingest
 * keeps accepting events.
 */
export class RateLimits {
  readonly #ip: Limiter;
  readonly #site: Limiter;

  constructor(redis: Redis, options: { ipPerMinute: number; sitePerMinute: number }) {
    const make = (prefix: string, points: number): Limiter =>
      points > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `sightline:rl:${prefix}`,
            points,
            duration: 60,
            insuranceLimiter: new RateLimiterMemory({ keyPrefix: `rl-mem-${prefix}`, points, duration: 60 }),
          })
        : undefined;
    this.#ip = make('ip', options.ipPerMinute);
    this.#site = make('site', options.sitePerMinute);
  }

  ip(ip: string): Promise<Limit> {
    return consume(this.#ip, ip, 1);
  }

  site(siteId: string, events: number): Promise<Limit> {
    return consume(this.#site, siteId, events);
  }
}

async function consume(limiter: Limiter, key: string, points: number): Promise<Limit> {
  if (!limiter) return { ok: true };
  try {
    await limiter.consume(key, points);
    return { ok: true };
  } catch (result) {
    if (result instanceof RateLimiterRes)
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)) };
    throw result;
  }
}
