import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type Limit = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * A limit of `points` per minute per key, counted in Redis so it holds across instances. If Redis is
 * unreachable each instance counts in memory: limits loosen for a while, but requests keep being
 * answered. `points` 0 turns the limit off.
 */
export class RedisRateLimit {
  readonly #limiter: RateLimiterRedis | undefined;

  constructor(redis: Redis, options: { prefix: string; perMinute: number }) {
    const { prefix, perMinute: points } = options;
    this.#limiter =
      points > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `sightline:rl:${prefix}`,
            points,
            duration: 60,
            insuranceLimiter: new RateLimiterMemory({ keyPrefix: `rl-mem-${prefix}`, points, duration: 60 }),
          })
        : undefined;
  }

  async consume(key: string, points = 1): Promise<Limit> {
    if (!this.#limiter) return { ok: true };
    try {
      await this.#limiter.consume(key, points);
      return { ok: true };
    } catch (result) {
      if (result instanceof RateLimiterRes)
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)) };
      throw result;
    }
  }
}
