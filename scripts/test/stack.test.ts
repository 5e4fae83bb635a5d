import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@sightline/core';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import {
  ensureLocalRedis,
  freePort,
  type LocalKafka,
  type LocalRedis,
  startLocalKafka,
} from '../src/stack/index.js';
import { isPortInUse } from '../src/stack/ports.js';

const logger = createLogger({ LOG_LEVEL: 'warn' });
const progress = (line: string) => console.log(`  [stack] ${line}`);

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local Kafka', () => {
  let dataDir: string;
  let port: number;
  let local: LocalKafka | undefined;

  // The first run on a machine also resolves the broker jars from Maven Central.
  before(
    async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'sightline-stack-'));
      port = await freePort();
      const controllerPort = await freePort();
      local = await startLocalKafka({ dataDir, port, controllerPort, logger, progress });
    },
    { timeout: 240_000 },
  );
  after(
    async () => {
      await local?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    { timeout: 30_000 },
  );

  it('carries 200 keyed messages through a consumer group exactly once', { timeout: 90_000 }, async () => {
    const topic = `stack-test-${randomUUID().slice(0, 8)}`;
    const groupId = `${topic}-group`;
    const kafka = new Kafka({ clientId: 'stack-test', brokers: [local!.brokers], logLevel: logLevel.ERROR });

    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 4, replicationFactor: 1 }],
      });

      const producer = kafka.producer({
        idempotent: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const sent = Array.from({ length: 200 }, (_, i) => ({ key: `site-${i % 10}`, value: `event-${i}` }));
      await producer.send({ topic, acks: -1, messages: sent });
      await producer.disconnect();

      const received: string[] = [];
      const nextOffsets = new Map<number, bigint>();
      // A short long-poll, so disconnecting doesn't wait out a 5 s empty fetch.
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        let allReceived: () => void = () => {};
        const done = new Promise<void>((resolve) => {
          allReceived = resolve;
        });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            received.push(message.value?.toString() ?? '');
            nextOffsets.set(partition, BigInt(message.offset) + 1n);
            if (received.length >= sent.length) allReceived();
          },
        });
        await done;
        await consumer.commitOffsets(
          [...nextOffsets].map(([partition, offset]) => ({ topic, partition, offset: offset.toString() })),
        );
      } finally {
        await consumer.disconnect();
      }

      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const total = committed!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      assert.equal(total, 200);
      assert.equal(committed!.partitions.length, 4);
      assert.deepEqual([...received].sort(), sent.map((m) => m.value).sort());
      assert.equal(new Set(received).size, 200);
    } finally {
      await admin.disconnect();
    }
  });

  it('stops: the broker process exits and its port is free', { timeout: 30_000 }, async () => {
    const { pid } = local!;
    assert.ok(isRunning(pid));
    await local!.stop();
    assert.equal(isRunning(pid), false);
    assert.equal(await isPortInUse(port), false);
  });
});

describe('local Redis', () => {
  let dataDir: string;
  const started: LocalRedis[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sightline-redis-'));
  });
  after(
    async () => {
      for (const redis of started) await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    { timeout: 20_000 },
  );

  async function pingAt(url: string): Promise<string> {
    const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await client.connect();
      return await client.ping();
    } finally {
      client.disconnect();
    }
  }

  it('returns a URL that answers PING on the default port', { timeout: 20_000 }, async () => {
    const redis = await ensureLocalRedis({ dataDir, logger, progress });
    started.push(redis);
    assert.equal(await pingAt(redis.url), 'PONG');
  });

  it('starts its own redis-server when none answers, persisting into the data dir', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    const redis = await ensureLocalRedis({ dataDir, port, logger, progress });
    started.push(redis);
    assert.equal(redis.url, `redis://127.0.0.1:${port}`);
    assert.equal(await pingAt(redis.url), 'PONG');
    await access(join(dataDir, 'redis', 'appendonlydir'));
    await redis.stop();
    assert.equal(await isPortInUse(port), false);
  });
});
