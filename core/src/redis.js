import { Redis } from 'ioredis';

export { Redis };
/** BullMQ needs maxRetriesPerRequest: null on the connections its workers block on. */
export function createRedis(config, options = {}) {
  const url = config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.forBullMQ ? null : 3,
    enableOfflineQueue: true,
  });
}
