import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouseClient,
  type Config,
  createClickHouse,
  createKafka,
  createLogger,
  ensureEventsTopic,
  type Kafka,
  type Logger,
  type StoredEvent,
} from '@sightline/core';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { type ReplayProgress, replayTopic } from '../src/replay.js';
import { applySchema } from '../src/schema.js';

async function rows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown> = {}) {
  return (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sites = ['alpha', 'beta', 'gamma'];

describe('replay: re-reading the topic into events_raw', () => {
  let config: Config;
  let cleanup: () => Promise<void>;
  let ch: ClickHouseClient;
  let kafka: Kafka;
  let logger: Logger;
  let producer: Producer;
  // Nothing consumes this topic but the replays: the Kafka engine table reads config's own topic.
  let topic: string;

  const produce = async (messages: { key: string; value: string }[]) => {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  };
  const produceEvents = (events: StoredEvent[]) =>
    produce(events.map((e) => ({ key: e.site_id, value: JSON.stringify(e) })));
  const count = async () =>
    Number((await rows<{ n: number }>(ch, 'SELECT count() AS n FROM events_raw'))[0]!.n);
  const replay = (options: Omit<Parameters<typeof replayTopic>[1], 'topic'>) =>
    replayTopic({ kafka, ch, logger }, { topic, batchSize: 400, ...options });

  before(async () => {
    ({ config, cleanup } = await testStack('replay', { KAFKA_EVENTS_PARTITIONS: '3' }));
    logger = createLogger(config);
    kafka = createKafka(config, logger);
    await ensureEventsTopic(kafka, config);
    topic = `${config.KAFKA_EVENTS_TOPIC}-replayed`;
    await ensureEventsTopic(kafka, { ...config, KAFKA_EVENTS_TOPIC: topic });
    ch = createClickHouse(config);
    await applySchema(ch, config, logger);
    producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await ch?.close();
    await cleanup?.();
  });

  const at = Date.UTC(2026, 10, 20, 10, 0);
  const first = Array.from({ length: 1500 }, (_, i) =>
    makeStoredEvent({ site_id: sites[i % 3]!, visitor_id: String(i % 70), at: at + i * 1000 }),
  );
  const second = Array.from({ length: 300 }, (_, i) =>
    makeStoredEvent({ site_id: sites[i % 3]!, name: 'signup', at: at + 3600_000 + i }),
  );
  let middle = 0;

  it('replays everything from timestamp 0 into events_raw, keeping partition, offset and Kafka time', async () => {
    await produceEvents(first);
    const progress: ReplayProgress[] = [];
    const result = await replay({ from: { timestamp: 0 }, onProgress: (p) => progress.push(p) });
    assert.deepEqual(result, { messages: 1500, inserted: 1500, skipped: 0, deadLetters: 0 });
    assert.equal(await count(), 1500);
    assert.ok(progress.length >= 4, 'progress after each round of at most 400');
    assert.deepEqual(progress.at(-1), { messages: 1500, inserted: 1500, skipped: 0, lagRemaining: 0 });

    const [stored] = await rows<{ ids: number; offsets: number; later: number; same: number }>(
      ch,
      `SELECT uniqExact(event_id) AS ids, uniqExact(kafka_partition, kafka_offset) AS offsets,
              countIf(kafka_ts > ts) AS later, countIf(has({ids:Array(UUID)}, event_id)) AS same
       FROM events_raw`,
      { ids: first.map((e) => e.event_id) },
    );
    assert.deepEqual(
      [stored!.ids, stored!.offsets, stored!.later, stored!.same].map(Number),
      [1500, 1500, 1500, 1500],
    );
    // Per partition, offsets 0 … end - 1: every message of the topic, once.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const perPartition = await rows<{ p: number; n: number; lo: number; hi: number }>(
      ch,
      `SELECT kafka_partition AS p, count() AS n, min(kafka_offset) AS lo, max(kafka_offset) AS hi
       FROM events_raw GROUP BY p ORDER BY p`,
    );
    assert.deepEqual(
      perPartition.map((r) => [Number(r.p), Number(r.n), Number(r.lo), Number(r.hi)]),
      ends
        .sort((a, b) => a.partition - b.partition)
        .filter((e) => Number(e.high) > 0)
        .map((e) => [e.partition, Number(e.high), 0, Number(e.high) - 1]),
    );
    const [row] = await rows<Record<string, unknown>>(
      ch,
      `SELECT * EXCEPT (kafka_partition, kafka_offset, kafka_ts) FROM events_raw WHERE event_id = {id:UUID}`,
      { id: first[7]!.event_id },
    );
    assert.deepEqual(
      {
        ...row,
        visitor_id: String(row!.visitor_id),
        ts: String(row!.ts),
        received_at: String(row!.received_at),
      },
      { ...first[7]! },
      'every column as produced',
    );
  });

  it('replaying again inserts nothing: every event is already there', async () => {
    const result = await replay({ from: { timestamp: 0 } });
    assert.deepEqual(result, { messages: 1500, inserted: 0, skipped: 1500, deadLetters: 0 });
    assert.equal(await count(), 1500);
  });

  it('replays from a timestamp: only the messages stamped at or after it', async () => {
    await sleep(50);
    middle = Date.now();
    await sleep(50);
    await produceEvents(second);
    const result = await replay({ from: { timestamp: middle } });
    assert.deepEqual(result, { messages: 300, inserted: 300, skipped: 0, deadLetters: 0 });
    assert.equal(await count(), 1800);
    const [signups] = await rows<{ n: number }>(
      ch,
      "SELECT count() AS n FROM events_raw WHERE name = 'signup'",
    );
    assert.equal(Number(signups!.n), 300);
  });

  it('stops at `to` and starts at given offsets', async () => {
    assert.deepEqual(await replay({ from: { timestamp: 0 }, to: middle }), {
      messages: 1500,
      inserted: 0,
      skipped: 1500,
      deadLetters: 0,
    });
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    // The last 10 messages of each partition that has them, but one: a partition not asked for is not read.
    const filled = ends.filter((e) => Number(e.high) >= 10);
    const offsets = (filled.length > 1 ? filled.slice(1) : filled).map((e) => ({
      partition: e.partition,
      offset: String(Number(e.high) - 10),
    }));
    const expected = offsets.length * 10;
    assert.deepEqual(await replay({ from: { offsets } }), {
      messages: expected,
      inserted: 0,
      skipped: expected,
      deadLetters: 0,
    });
  });

  it('dead-letters a malformed message once and still inserts the messages after it', async () => {
    await sleep(50);
    const from = Date.now();
    const before = Array.from({ length: 40 }, () => makeStoredEvent({ site_id: 'alpha', at }));
    const afterBad = Array.from({ length: 60 }, () => makeStoredEvent({ site_id: 'alpha', at }));
    const badJson = '{"event_id": "not-a-uuid", "site_id": ';
    const badEvent = JSON.stringify({ ...makeStoredEvent({ site_id: 'alpha' }), ts: 'yesterday' });
    await produceEvents(before);
    await produce([
      { key: 'alpha', value: badJson },
      { key: 'alpha', value: badEvent },
    ]);
    await produceEvents(afterBad);

    assert.deepEqual(await replay({ from: { timestamp: from } }), {
      messages: 102,
      inserted: 100,
      skipped: 0,
      deadLetters: 2,
    });
    assert.equal(await count(), 1900);
    const dead = await rows<{ kafka_topic: string; raw_message: string; error: string }>(
      ch,
      'SELECT kafka_topic, raw_message, error FROM events_dead_letter ORDER BY kafka_offset',
    );
    assert.deepEqual(
      dead.map((d) => [d.kafka_topic, d.raw_message]),
      [
        [topic, badJson],
        [topic, badEvent],
      ],
    );
    assert.match(dead[0]!.error, /not JSON/);
    assert.match(dead[1]!.error, /ts: not YYYY-MM-DD/);

    // Twice: the same two bad messages are reported, not recorded again.
    assert.deepEqual(await replay({ from: { timestamp: from } }), {
      messages: 102,
      inserted: 0,
      skipped: 100,
      deadLetters: 2,
    });
    const [deadCount] = await rows<{ n: number }>(ch, 'SELECT count() AS n FROM events_dead_letter');
    assert.equal(Number(deadCount!.n), 2);
    assert.equal(await count(), 1900);
  });

  it('replays every row of a message with several events, and dead-letters one with a bad row whole', async () => {
    // As ingest sends them (ingest/src/event-producer.ts, toMessages), and as ClickHouse's Kafka
    // engine treats them.
    await sleep(50);
    const from = Date.now();
    const good = Array.from({ length: 3 }, () => makeStoredEvent({ site_id: 'beta', at }));
    const spoilt = [
      makeStoredEvent({ site_id: 'beta', at }),
      { ...makeStoredEvent({ site_id: 'beta' }), ts: 'x' },
    ];
    await produce([
      { key: 'beta', value: good.map((e) => JSON.stringify(e)).join('\n') },
      { key: 'beta', value: spoilt.map((e) => JSON.stringify(e)).join('\n') },
    ]);
    assert.deepEqual(await replay({ from: { timestamp: from } }), {
      messages: 2,
      inserted: 3,
      skipped: 0,
      deadLetters: 1,
    });
    assert.equal(await count(), 1903);
    const [dead] = await rows<{ error: string }>(
      ch,
      'SELECT error FROM events_dead_letter ORDER BY kafka_ts DESC LIMIT 1',
    );
    assert.match(dead!.error, /^row 2: not a stored event: ts/);
  });

  it('leaves no consumer group behind and returns at once when there is nothing to read', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const { groups } = await admin.listGroups();
    await admin.disconnect();
    assert.deepEqual(
      groups.filter((g) => g.groupId.startsWith(`replay-${topic}`)),
      [],
    );
    assert.deepEqual(await replay({ from: { timestamp: Date.now() + 60_000 } }), {
      messages: 0,
      inserted: 0,
      skipped: 0,
      deadLetters: 0,
    });
  });
});
