import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { startProcess, stopProcess } from '@sightline/bench';
import {
  type ClickHouseClient,
  type Config,
  createClickHouse,
  createKafka,
  type Kafka,
} from '@sightline/core';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { freePort } from '../src/stack/index.js';
import { logger } from './support/service.js';

/**
 * The service as `npm start` runs it, in a process of its own (its chDB holds the Kafka engine's
 * consumer), with the test stack's Kafka, Redis, topic and data directory.
 */
function startService(config: Config, port: number): Promise<ChildProcess> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: config.KAFKA_BROKERS!,
    REDIS_URL: config.REDIS_URL!,
    DATA_DIR: config.DATA_DIR,
    KAFKA_EVENTS_TOPIC: config.KAFKA_EVENTS_TOPIC,
    KAFKA_EVENTS_PARTITIONS: String(config.KAFKA_EVENTS_PARTITIONS),
    KAFKA_CONSUMER_GROUP: config.KAFKA_CONSUMER_GROUP,
    BATCH_QUEUE: config.BATCH_QUEUE,
    ADMIN_TOKEN: config.ADMIN_TOKEN!,
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  return startProcess('scripts/src/start.ts', [], env, `http://127.0.0.1:${port}`, 2);
}

/** End offsets of the topic's partitions, and the Kafka engine group's committed offsets. */
async function offsets(kafka: Kafka, config: Config) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(config.KAFKA_EVENTS_TOPIC);
    const [committed] = await admin.fetchOffsets({
      groupId: config.KAFKA_CONSUMER_GROUP,
      topics: [config.KAFKA_EVENTS_TOPIC],
    });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.map((p) => ({
      partition: p.partition,
      end: Number(p.high),
      committed: at.get(p.partition) ?? -1,
    }));
  } finally {
    await admin.disconnect();
  }
}

/** Messages of the topic the Kafka engine's group has not committed yet. */
async function lag(kafka: Kafka, config: Config): Promise<number> {
  return (await offsets(kafka, config)).reduce((sum, p) => sum + p.end - Math.max(p.committed, 0), 0);
}

/**
 * Waits until the group has committed everything the topic held when it was called (the load goes
 * on meanwhile, so the lag itself never stays at 0); false if not within `ms`.
 */
async function committedPastNow(kafka: Kafka, config: Config, ms: number): Promise<boolean> {
  const target = new Map((await offsets(kafka, config)).map((p) => [p.partition, p.end]));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const now = await offsets(kafka, config);
    // -1: nothing committed yet, which is all there is to commit in a partition no event went to.
    if (now.every((p) => Math.max(p.committed, 0) >= (target.get(p.partition) ?? 0))) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

describe('the consuming side restarts mid-stream', () => {
  const children: ChildProcess[] = [];
  let ch: ClickHouseClient | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let producing = true;
  let producer: Producer | undefined;
  after(async () => {
    producing = false;
    await producer?.disconnect().catch(() => {});
    for (const child of children) child.kill('SIGKILL');
    await ch?.close();
    await cleanup?.();
  });

  it('loses nothing: after kill -9, a restart, a graceful stop and another start, events_raw holds every produced event', async (t) => {
    const stack = await testStack('fault-consumer-restart');
    cleanup = stack.cleanup;
    const { config } = stack;
    const port = await freePort();
    const kafka = createKafka(config, logger);

    children.push(await startService(config, port));

    // Produce known events the whole time: before the kill, while the consumer is gone, after. About
    // 500 a second: well under what the engine takes on a busy two-core machine, so it catches up.
    const produced: string[] = [];
    producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const load = (async () => {
      let i = 0;
      while (producing) {
        const events = Array.from({ length: 100 }, () =>
          makeStoredEvent({ site_id: `site-${i++ % 3}`, visitor_id: String(i % 100) }),
        );
        await producer!.send({
          topic: config.KAFKA_EVENTS_TOPIC,
          acks: -1,
          messages: events.map((e) => ({ key: e.site_id, value: JSON.stringify(e) })),
        });
        produced.push(...events.map((e) => e.event_id));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // Mid-stream: the engine has consumed part of the load and is working on the rest.
    const deadline = Date.now() + 60_000;
    while (
      Date.now() < deadline &&
      (produced.length < 3000 || (await lag(kafka, config)) >= produced.length)
    ) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const before = produced.length - (await lag(kafka, config));
    assert.ok(before > 0, 'the engine was consuming before the kill');
    const killed = children[0]!;
    await stopProcess(killed, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    const restarted = Date.now();
    children.push(await startService(config, port));
    const ready = Date.now();

    // The restarted consumer waits for the killed one's group membership to expire, then catches up.
    assert.ok(await committedPastNow(kafka, config, 180_000), 'the restarted consumer caught up');
    const caughtUp = Date.now();

    // A graceful stop (SIGTERM, as a rolling restart does) mid-stream, and another start.
    const stopped = children[1]!;
    await stopProcess(stopped, 'SIGTERM');
    const admin = kafka.admin();
    await admin.connect();
    const {
      groups: [group],
    } = await admin.describeGroups([config.KAFKA_CONSUMER_GROUP]);
    await admin.disconnect();
    // chDB's Kafka engine does not leave its group when the process stops (DETACH TABLE before the
    // exit did not change that either): the next start waits for the session timeout, as after kill -9.
    const members = group?.members.length ?? 0;
    const backlog = await lag(kafka, config);
    const started = Date.now();
    children.push(await startService(config, port));
    assert.ok(await committedPastNow(kafka, config, 180_000), 'the next consumer caught up');
    const resumed = Date.now();
    producing = false;
    await load;
    await producer.disconnect();
    assert.ok(await committedPastNow(kafka, config, 60_000), 'and took the rest of the load');
    assert.equal(await lag(kafka, config), 0);

    // chDB's data directory belongs to one process: stop the service, then read it here.
    const service = children[2]!;
    await stopProcess(service, 'SIGTERM');
    ch = createClickHouse(config);
    const rows = await (
      await ch.query({
        query: 'SELECT toString(event_id) AS id, count() AS n FROM events_raw GROUP BY id',
        format: 'JSONEachRow',
      })
    ).json<{ id: string; n: number | string }>();
    const stored = new Set(rows.map((r) => r.id));
    const missing = produced.filter((id) => !stored.has(id));
    const duplicated = rows.filter((r) => Number(r.n) > 1).length;
    const s = (ms: number) => (ms / 1000).toFixed(1);
    t.diagnostic(
      `${produced.length} produced; kill -9 after ${before} were consumed: restart ready in ${s(ready - restarted)} s, caught up ${s(caughtUp - ready)} s later; SIGTERM with ${backlog} waiting (${members} member(s) left in the group): the next start caught up ${s(resumed - started)} s after it began (its own start included); ${duplicated} event ids stored twice (redelivered)`,
    );
    assert.deepEqual(missing, [], 'every produced event is in events_raw');
    assert.equal(stored.size, produced.length, 'and nothing else');
  });
});
