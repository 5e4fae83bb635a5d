import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, createClickHouse, migrate } from '@sightline/core';
import { makeStoredEvent, streamlessMigration, testStack } from '@sightline/core/testing';
import { recomputeHour } from '../src/recompute-hour.js';

const H = Date.UTC(2026, 10, 22, 0);
const HOURS = 6;
/** Hour i has 10 + i pageviews, each by its own visitor: every hour's numbers differ. */
const expected = Array.from({ length: HOURS }, (_, i) => ({
  h: new Date(H + i * 3600_000).toISOString().slice(0, 19).replace('T', ' '),
  pageviews: 10 + i,
  visitors: 10 + i,
}));

describe('readers never see a half-committed hour (invariant 3)', () => {
  let writer: ClickHouseClient;
  let reader: ClickHouseClient;
  let cleanup: () => Promise<void>;

  before(async () => {
    const stack = await testStack('batch-concurrency');
    cleanup = stack.cleanup;
    writer = createClickHouse(stack.config);
    // A second connection to the same chDB directory: reads run in parallel with the commits.
    reader = createClickHouse(stack.config);
    await migrate(writer, streamlessMigration);
    const events = expected.flatMap((hour, i) =>
      Array.from({ length: hour.pageviews }, (_, v) =>
        makeStoredEvent({
          site_id: 'c',
          visitor_id: String(i * 100 + v + 1),
          at: H + i * 3600_000 + v * 60_000,
        }),
      ),
    );
    await writer.insert({
      table: 'events_raw',
      values: events.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: i, kafka_ts: e.received_at })),
      format: 'JSONEachRow',
    });
  });
  after(async () => {
    await writer?.close();
    await reader?.close();
    await cleanup?.();
  });

  it('reads hourly_merged continuously while hours are committed and recommitted: never a double count or a gap', async () => {
    let writing = true;
    const seen: { reads: number; sources: Set<string>; bad: unknown[] } = {
      reads: 0,
      sources: new Set(),
      bad: [],
    };
    const read = async () => {
      while (writing) {
        const result = await reader.query({
          query: `SELECT toString(hour) AS h, sum(pageviews) AS pageviews, uniqCombined64Merge(visitors_state) AS visitors,
                    arrayStringConcat(groupArray(source), ',') AS sources
                  FROM hourly_merged WHERE site_id = 'c' GROUP BY hour ORDER BY hour`,
          format: 'JSONEachRow',
        });
        const rows = await result.json<{ h: string; pageviews: string; visitors: string; sources: string }>();
        seen.reads += 1;
        for (const r of rows) seen.sources.add(r.sources);
        const got = rows.map((r) => ({
          h: r.h,
          pageviews: Number(r.pageviews),
          visitors: Number(r.visitors),
        }));
        if (JSON.stringify(got) !== JSON.stringify(expected)) seen.bad.push(rows);
      }
    };
    const write = async () => {
      try {
        // First commits, in order: the watermark moves hour by hour from speed to batch.
        for (let i = 0; i < HOURS; i += 1)
          await recomputeHour(writer, new Date(H + i * 3600_000), { reason: 'test' });
        // Then recommits of hours already committed, over and over.
        for (let round = 0; round < 4; round += 1) {
          for (let i = 0; i < HOURS; i += 1) {
            await recomputeHour(writer, new Date(H + i * 3600_000), { reason: 'test' });
          }
        }
      } finally {
        writing = false;
      }
    };
    await Promise.all([read(), write()]);
    assert.deepEqual(seen.bad.slice(0, 3), [], `${seen.bad.length} of ${seen.reads} reads were wrong`);
    assert.ok(seen.reads >= 20, `only ${seen.reads} reads overlapped the commits`);
    assert.ok(seen.sources.has('speed') && seen.sources.has('batch'), 'reads saw both sides of the merge');
  });
});
