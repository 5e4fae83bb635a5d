export { CHROMIUM_ARGS, ensureChromium } from './chromium.js';
export { PortInUseError, PrerequisiteError } from './errors.js';
export { type LocalKafka, type StartKafkaOptions, startLocalKafka } from './kafka.js';
export { defaultCacheDir, KAFKA_VERSION } from './kafka-jars.js';
export { freePort } from './ports.js';
export { type EnsureRedisOptions, ensureLocalRedis, type LocalRedis } from './redis.js';
