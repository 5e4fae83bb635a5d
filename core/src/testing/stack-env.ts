import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, loadConfig } from '../config.js';

/**
 * Config for a test against the real local stack that `npm test` started (its addresses arrive as
 * KAFKA_BROKERS and REDIS_URL), with names of its own: a fresh data directory, topic and consumer
 * group, so tests never see each other's data.
 */
export async function testStack(
  name: string,
  overrides: Record<string, string> = {},
): Promise<{ config: Config; cleanup(): Promise<void> }> {
  const { KAFKA_BROKERS, REDIS_URL } = process.env;
  if (!KAFKA_BROKERS || !REDIS_URL) {
    throw new Error(
      'KAFKA_BROKERS and REDIS_URL are not set: run the suite with `npm test`, which starts the local stack',
    );
  }
  const unique = `${name}-${process.pid}-${Date.now().toString(36)}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), `sightline-${name}-`));
  const config = loadConfig({
    KAFKA_BROKERS,
    REDIS_URL,
    DATA_DIR: dataDir,
    KAFKA_EVENTS_TOPIC: `events-${unique}`,
    KAFKA_CONSUMER_GROUP: `speed-${unique}`,
    BATCH_QUEUE: `batch-${unique.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    // Tests run in parallel from one address; the rate-limit test turns its own limits on.
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    ...overrides,
  });
  return { config, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}
