export * from './clickhouse.js';
export * from './config.js';
export * from './errors.js';
export * from './event.js';
export * from './kafka.js';
export * from './logger.js';
export * from './migrations.js';
export * from './redis.js';
