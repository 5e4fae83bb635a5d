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
} from '@sightline/core';
import { makeStoredEvent, testStack } from '@sightline/core/testing';
import { Partitioners } from 'kafkajs';
import { applySchema } from '../src/schema.js';
import { streamStatus } from '../src/stream-status.js';

async function rows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

describe("ClickHouse's Kafka engine inside chDB", () => {
  let config: Config;
  let cleanup: () => Promise<void>;
  let ch: ClickHouseClient;
  let kafka: Kafka;

  before(async () => {
    ({ config, cleanup } = await testStack('kafka-engine', { KAFKA_EVENTS_PARTITIONS: '3' }));
    const logger = createLogger(config);
    kafka = createKafka(config, logger);
    await ensureEventsTopic(kafka, config);
    ch = createClickHouse(config);
    await applySchema(ch, config, logger);
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  it('streams every message into events_raw and the hourly rollup; a bad message goes to the dead letters', async () => {
    const at = Date.UTC(2026, 10, 20, 10, 30);
    const sites = ['alpha', 'beta', 'gamma'];
    const before = Array.from({ length: 3000 }, (_, i) =>
      makeStoredEvent({ site_id: sites[i % 3]!, visitor_id: String(i % 50), at: at + i }),
    );
    const afterBad = Array.from({ length: 100 }, (_, i) =>
      makeStoredEvent({ site_id: 'alpha', name: 'signup', visitor_id: String(i), at: at + i }),
    );
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const send = (messages: { key: string; value: string }[]) =>
      producer.send({ topic: config.KAFKA_EVENTS_TOPIC, acks: -1, messages });
    for (let i = 0; i < before.length; i += 500) {
      await send(before.slice(i, i + 500).map((e) => ({ key: e.site_id, value: JSON.stringify(e) })));
    }
    await send([{ key: 'alpha', value: '{"event_id": "not-a-uuid", "site_id": ' }]);
    await send(afterBad.map((e) => ({ key: e.site_id, value: JSON.stringify(e) })));
    await producer.disconnect();

    const expected = before.length + afterBad.length;
    const deadline = Date.now() + 30_000;
    let count = 0;
    while (Date.now() < deadline) {
      count = Number((await rows<{ n: number }>(ch, 'SELECT count() AS n FROM events_raw'))[0]!.n);
      if (count >= expected) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(count, expected, 'every message arrived in events_raw');
    const [unique] = await rows<{ ids: number; offsets: number }>(
      ch,
      'SELECT uniqExact(event_id) AS ids, uniqExact(kafka_partition, kafka_offset) AS offsets FROM events_raw',
    );
    assert.equal(Number(unique!.ids), expected, 'each event exactly once');
    assert.equal(Number(unique!.offsets), expected, 'Kafka partition and offset kept per row');

    // The bad message's row is written by its own view, possibly in a later block than the good
    // messages around it: wait for it too.
    let dead: { raw_message: string; error: string }[] = [];
    while (Date.now() < deadline + 10_000) {
      dead = await rows(ch, 'SELECT raw_message, error FROM events_dead_letter');
      if (dead.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.raw_message, '{"event_id": "not-a-uuid", "site_id": ');
    assert.ok(dead[0]!.error.length > 0, 'the parser error is kept');

    const hourly = await rows<{
      site_id: string;
      hour: string;
      pageviews: number;
      events: number;
      visitors: number;
    }>(
      ch,
      `SELECT site_id, hour, sum(pageviews) AS pageviews, sum(events) AS events, uniqCombined64Merge(visitors) AS visitors
       FROM speed_hourly GROUP BY site_id, hour ORDER BY site_id`,
    );
    assert.deepEqual(
      hourly.map((r) => [r.site_id, r.hour, Number(r.pageviews), Number(r.events), Number(r.visitors)]),
      [
        ['alpha', '2026-11-20 10:00:00', 1000, 1100, 100],
        ['beta', '2026-11-20 10:00:00', 1000, 1000, 50],
        ['gamma', '2026-11-20 10:00:00', 1000, 1000, 50],
      ],
    );

    // The consumer commits after the views' inserts: once everything is in, the lag drains to zero.
    let status = await streamStatus(kafka, ch, config.KAFKA_EVENTS_TOPIC, config.KAFKA_CONSUMER_GROUP);
    const lagDeadline = Date.now() + 15_000;
    while (status.lag > 0 && Date.now() < lagDeadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = await streamStatus(kafka, ch, config.KAFKA_EVENTS_TOPIC, config.KAFKA_CONSUMER_GROUP);
    }
    assert.deepEqual(status, { lag: 0, deadLetters: 1 });
  });

  it('reads every row of a message with several events; one bad row dead-letters its whole message', async () => {
    // Ingest puts up to 100 events in one message, one JSON row each, and sends an event ClickHouse
    // may refuse alone (ingest/src/event-producer.ts, toMessages): what follows is why.
    const at = Date.UTC(2026, 10, 20, 11, 0);
    const good = Array.from({ length: 100 }, (_, i) => makeStoredEvent({ site_id: 'delta', at: at + i }));
    const spoilt = [makeStoredEvent({ site_id: 'delta', at }), makeStoredEvent({ site_id: 'delta', at })];
    const badRow = JSON.stringify(makeStoredEvent({ site_id: 'delta', at, revenue_amount: '1e+21' }));
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: config.KAFKA_EVENTS_TOPIC,
      acks: -1,
      messages: [
        { key: 'delta', value: good.map((e) => JSON.stringify(e)).join('\n') },
        { key: 'delta', value: [JSON.stringify(spoilt[0]), badRow, JSON.stringify(spoilt[1])].join('\n') },
      ],
    });
    await producer.disconnect();

    const deadline = Date.now() + 30_000;
    let stored: { n: number; offsets: number }[] = [];
    let dead: { raw_message: string }[] = [];
    while (Date.now() < deadline) {
      stored = await rows(
        ch,
        "SELECT count() AS n, uniqExact(kafka_offset) AS offsets FROM events_raw WHERE site_id = 'delta'",
      );
      dead = await rows(
        ch,
        'SELECT raw_message FROM events_dead_letter WHERE raw_message LIKE \'%"delta"%\'',
      );
      if (Number(stored[0]!.n) >= good.length && dead.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(
      [Number(stored[0]!.n), Number(stored[0]!.offsets)],
      [good.length, 1],
      'every row of the good message, all at its one offset; none of the spoilt message',
    );
    assert.equal(dead.length, 1, 'the spoilt message is one dead letter');
    assert.equal(dead[0]!.raw_message.split('\n').length, 3, 'holding all of its rows');
  });
});
