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

async function count(ch: ClickHouseClient, query: string): Promise<number> {
  const rows = await (await ch.query({ query, format: 'JSONEachRow' })).json<{ n: number | string }>();
  return Number(rows[0]?.n ?? 0);
}

// The schema applied to an empty chDB while the topic already holds a backlog (a first start
// against an existing topic, or after the data directory was lost): the Kafka engine starts against
// the whole backlog at once, and every rollup must see every block of it.
describe('a fresh install against a topic that already holds events', () => {
  let config: Config;
  let cleanup: () => Promise<void>;
  let ch: ClickHouseClient;
  let kafka: Kafka;

  before(async () => {
    ({ config, cleanup } = await testStack('fresh-install', { KAFKA_EVENTS_PARTITIONS: '2' }));
    kafka = createKafka(config, createLogger(config));
    await ensureEventsTopic(kafka, config);
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  it('gets events_raw and every rollup right', async () => {
    // Recent hours: speed_minute keeps three days.
    const at = Math.floor(Date.now() / 3600_000) * 3600_000 - 2 * 3600_000;
    const events = Array.from({ length: 6000 }, (_, i) =>
      makeStoredEvent({
        site_id: `site-${i % 4}`,
        visitor_id: String(i % 300),
        name: i % 5 === 0 ? 'signup' : 'pageview',
        is_bot: i % 10 === 3,
        at: at + i * 1000, // 100 minutes over two hours
      }),
    );
    const counted = events.filter((e) => !e.is_bot).length;
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < events.length; i += 1000) {
      await producer.send({
        topic: config.KAFKA_EVENTS_TOPIC,
        acks: -1,
        messages: events.slice(i, i + 1000).map((e) => ({ key: e.site_id, value: JSON.stringify(e) })),
      });
    }
    await producer.disconnect();

    ch = createClickHouse(config);
    await applySchema(ch, config, createLogger(config));

    const expected = {
      events_raw: events.length,
      speed_hourly: counted,
      speed_minute: counted,
      speed_dimensions_event_name: counted,
      speed_dimensions_page: counted,
    };
    const actual = async () => ({
      events_raw: await count(ch, 'SELECT count() AS n FROM events_raw'),
      speed_hourly: await count(ch, 'SELECT sum(events) AS n FROM speed_hourly'),
      speed_minute: await count(ch, 'SELECT sum(events) AS n FROM speed_minute'),
      speed_dimensions_event_name: await count(
        ch,
        "SELECT sum(events) AS n FROM speed_dimensions WHERE dimension = 'event_name'",
      ),
      speed_dimensions_page: await count(
        ch,
        "SELECT sum(events) AS n FROM speed_dimensions WHERE dimension = 'page'",
      ),
    });
    const deadline = Date.now() + 60_000;
    let seen = await actual();
    while (Date.now() < deadline && seen.events_raw < events.length) {
      await new Promise((r) => setTimeout(r, 500));
      seen = await actual();
    }
    // A view's insert lands just after its source's: a moment more for the rollups, then no more
    // rows come (the backlog is finished), so what is missing now was missed for good.
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await actual(), expected);
    assert.equal(
      await count(ch, 'SELECT uniqExact(minute) AS n FROM speed_minute'),
      100,
      'one row per minute of the backlog',
    );
  });
});
