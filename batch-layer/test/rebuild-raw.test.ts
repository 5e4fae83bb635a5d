import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse, migrate, type StoredEvent } from '@sightline/core';
import { makeStoredEvent, streamlessMigration, testStack } from '@sightline/core/testing';
import { ingestEnrichment, rebuildRawDay } from '../src/rebuild-raw.js';

/** Five days ago: no late event can reach it any more. */
const DAY = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 5 * 86_400_000;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

describe('rebuild of events_raw from the raw payloads', () => {
  let ch: ClickHouseClient;
  let cleanup: () => Promise<void>;
  let expected: StoredEvent[];

  before(async () => {
    const stack = await testStack('batch-rebuild-raw');
    cleanup = stack.cleanup;
    ch = createClickHouse(stack.config);
    await migrate(ch, streamlessMigration);
    // Rows as ingest's own code stores them today.
    const { toStoredEvent, createEnricher } = ingestEnrichment;
    const enricher = createEnricher();
    const salt = randomBytes(32);
    const stored = (ua: string, url: string, minute: number, referrer?: string) =>
      toStoredEvent(
        { site_id: 'r', name: 'pageview', url, ...(referrer && { referrer }) },
        DAY + minute * 60_000,
        {
          ip: '192.0.2.1',
          userAgent: ua,
          country: 'FR',
          acceptLanguage: 'fr',
          receivedAt: DAY + minute * 60_000,
        },
        salt,
        enricher,
      );
    expected = [
      stored(FIREFOX, 'https://r.example/pricing?utm_source=news', 10),
      stored(FIREFOX, 'https://r.example/', 20, 'https://www.google.com/'),
      stored(GOOGLEBOT, 'https://r.example/', 30),
    ];
    const rows = [
      // An enrichment bug wrote the wrong browser, channel and bot flag for the first two.
      { ...expected[0]!, browser: 'WRONG', utm_source: '' },
      { ...expected[1]!, channel: 'direct', referrer_source: '' },
      expected[2]!,
      // No payload to rebuild from: kept as it is.
      makeStoredEvent({ site_id: 'r', browser: 'Kept', at: DAY + 40 * 60_000 }),
      // Another day: untouched.
      {
        ...expected[0]!,
        event_id: '00000000-0000-4000-8000-0000000000aa',
        browser: 'WRONG',
        ts: '2020-01-01 00:00:00.000',
      },
    ];
    await ch.insert({
      table: 'events_raw',
      values: rows.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: i, kafka_ts: e.received_at })),
      format: 'JSONEachRow',
    });
  });
  after(async () => {
    await ch?.close();
    await cleanup?.();
  });

  const columns =
    'event_id, browser, os, device, is_bot, referrer_source, channel, utm_source, visitor_id, ts, kafka_offset';
  async function read(where: string) {
    return (
      await ch.query({
        query: `SELECT ${columns} FROM events_raw WHERE ${where} ORDER BY ts, event_id`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      })
    ).json<Record<string, unknown>>();
  }

  it('rebuilds the day with the current enrichment, swaps it in whole, and fixes the wrong columns', async () => {
    const outcome = await rebuildRawDay(ch, new Date(DAY + 3600_000));
    assert.deepEqual(outcome, {
      ok: true,
      day: new Date(DAY).toISOString().slice(0, 10),
      rows: 4,
      rebuilt: 3,
      changed: 2,
      kept: 1,
    });
    const day = await read(`toDate(ts) = toDate(fromUnixTimestamp64Milli(${DAY}, 'UTC'))`);
    const pick = (e: StoredEvent, offset: number) => ({
      event_id: e.event_id,
      browser: e.browser,
      os: e.os,
      device: e.device,
      is_bot: e.is_bot,
      referrer_source: e.referrer_source,
      channel: e.channel,
      utm_source: e.utm_source,
      visitor_id: e.visitor_id,
      ts: e.ts,
      kafka_offset: String(offset),
    });
    assert.deepEqual(day.slice(0, 3), [pick(expected[0]!, 0), pick(expected[1]!, 1), pick(expected[2]!, 2)]);
    assert.equal(expected[0]!.browser, 'Firefox');
    assert.equal(expected[1]!.referrer_source, 'Google');
    assert.equal(expected[2]!.is_bot, true);
    assert.equal(day[3]!.browser, 'Kept');
    const other = await read('toYear(ts) = 2020');
    assert.equal(other[0]!.browser, 'WRONG', 'other days are not touched');
  });

  it('rebuilding again changes nothing', async () => {
    const before = await read('1');
    const outcome = await rebuildRawDay(ch, new Date(DAY));
    assert.equal(outcome.ok && outcome.changed, 0);
    assert.deepEqual(await read('1'), before);
  });

  it('refuses a day that can still receive late events', async () => {
    const outcome = await rebuildRawDay(ch, new Date(Date.now() - 86_400_000));
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok ? '' : outcome.reason, /can still receive late events/);
  });
});
