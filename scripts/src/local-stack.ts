import path from 'node:path';
import type { Config, Logger } from '@sightline/core';
import { ensureLocalRedis, type LocalKafka, type LocalRedis, startLocalKafka } from './stack/index.js';

export interface LocalStack {
  /** The config with KAFKA_BROKERS and REDIS_URL filled in from what was started. */
  config: Config;
  stop(): Promise<void>;
}

/**
 * Starts what the config leaves unset: a local single-node Kafka when KAFKA_BROKERS is empty, and
 * a local Redis (or the one already answering on 6379) when REDIS_URL is empty.
 */
export async function startLocalStack(
  config: Config,
  logger: Logger,
  options: { kafkaPort?: number; controllerPort?: number; progress?: (line: string) => void } = {},
): Promise<LocalStack> {
  let kafka: LocalKafka | undefined;
  let redis: LocalRedis | undefined;
  const dataDir = path.resolve(config.DATA_DIR);
  try {
    if (!config.KAFKA_BROKERS) {
      kafka = await startLocalKafka({
        dataDir,
        logger,
        port: options.kafkaPort,
        controllerPort: options.controllerPort,
        progress: options.progress,
      });
    }
    if (!config.REDIS_URL) redis = await ensureLocalRedis({ dataDir, logger, progress: options.progress });
  } catch (error) {
    await kafka?.stop();
    throw error;
  }
  return {
    config: {
      ...config,
      KAFKA_BROKERS: config.KAFKA_BROKERS ?? kafka?.brokers,
      REDIS_URL: config.REDIS_URL ?? redis?.url,
    },
    stop: async () => {
      await Promise.all([kafka?.stop(), redis?.stop()]);
    },
  };
}
