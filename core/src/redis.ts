import { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export { Redis };

/** BullMQ needs maxRetriesPerRequest: null on the connections its workers block on. */
export function createRedis(
  config: Pick<Config, 'REDIS_URL'>,
  options: { forBullMQ?: boolean; logger?: Logger } = {},
): Redis {
  const url = config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.forBullMQ ? null : 3,
    enableOfflineQueue: true,
  });
  if (options.logger) logOutages(redis, options.logger);
  return redis;
}

/**
 * One warning when a connection to Redis is lost and one line when it is back, instead of ioredis's
 * "Unhandled error event" with a stack trace on every reconnect attempt. ioredis keeps retrying;
 * what needs Redis (rate limits, salts, the batch queue) waits or answers 503 meanwhile.
 */
export function logOutages(redis: Redis, logger: Logger): Redis {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error.message }, 'Redis unreachable; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('Redis connection back');
  });
  return redis;
}
