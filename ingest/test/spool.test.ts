import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger, type StoredEvent } from '@sightline/core';
import { makeStoredEvent } from '@sightline/core/testing';
import { Spool } from '../src/spool.js';

const logger = createLogger({ LOG_LEVEL: 'silent' });

describe('the local spool', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sightline-spool-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps appended events on disk and replays them oldest first, then deletes them', async () => {
    const spoolDir = path.join(dir, 'order');
    const spool = await Spool.open({ dir: spoolDir, maxBytes: 10_000_000, segmentBytes: 2000, logger });
    const events = Array.from({ length: 60 }, (_, i) => makeStoredEvent({ name: `e${i}` }));
    // Appends made together share one write (group commit) in the order of the calls.
    const results: string[] = [];
    for (let i = 0; i < events.length; i += 10) {
      results.push(...(await Promise.all(events.slice(i, i + 10).map((e) => spool.append([e])))));
    }
    assert.ok(results.every((r) => r === 'spooled'));
    assert.ok(spool.bytes > 0);
    assert.ok((await readdir(spoolDir)).length > 1, 'segments rotate at segmentBytes');

    const replayed: StoredEvent[] = [];
    const count = await spool.replay(async (chunk) => {
      replayed.push(...chunk);
    }, 7);
    assert.equal(count, 60);
    assert.deepEqual(
      replayed.map((e) => e.name),
      events.map((e) => e.name),
    );
    assert.equal(spool.bytes, 0);
    assert.deepEqual(await readdir(spoolDir), []);
    await spool.close();
  });

  it('refuses appends past its size limit and writes nothing of them', async () => {
    const spool = await Spool.open({ dir: path.join(dir, 'full'), maxBytes: 3000, logger });
    const results: string[] = [];
    for (let i = 0; i < 10; i++) results.push(await spool.append([makeStoredEvent()]));
    assert.ok(results.includes('spooled'), results.join());
    assert.equal(results.at(-1), 'full');
    assert.ok(spool.full);
    assert.ok(spool.bytes <= 3000);
    const replayed: StoredEvent[] = [];
    await spool.replay(async (chunk) => {
      replayed.push(...chunk);
    });
    assert.equal(replayed.length, results.filter((r) => r === 'spooled').length);
    await spool.close();
  });

  it('survives a restart, skips a torn last line, and keeps what a failed replay did not send', async () => {
    const spoolDir = path.join(dir, 'restart');
    const first = await Spool.open({ dir: spoolDir, maxBytes: 10_000_000, logger });
    const events = [makeStoredEvent({ name: 'a' }), makeStoredEvent({ name: 'b' })];
    await first.append(events);
    await first.close();
    const [segment] = await readdir(spoolDir);
    await appendFile(path.join(spoolDir, segment!), '{"event_id": "torn'); // a crash mid-write

    const second = await Spool.open({ dir: spoolDir, maxBytes: 10_000_000, logger });
    assert.ok(second.bytes > 0, 'the backlog is found at start');
    await assert.rejects(
      second.replay(async () => {
        throw new Error('Kafka still down');
      }),
      /Kafka still down/,
    );
    assert.equal((await readdir(spoolDir)).length, 1, 'nothing deleted after a failed replay');
    const replayed: StoredEvent[] = [];
    assert.equal(
      await second.replay(async (chunk) => {
        replayed.push(...chunk);
      }),
      2,
    );
    assert.deepEqual(
      replayed.map((e) => e.name),
      ['a', 'b'],
    );
    await second.close();
  });

  it('knows when its oldest waiting event was received, across segments and a restart', async () => {
    const spoolDir = path.join(dir, 'age');
    const t0 = Date.UTC(2026, 10, 26, 12, 0);
    const first = await Spool.open({ dir: spoolDir, maxBytes: 10_000_000, segmentBytes: 1500, logger });
    assert.equal(first.oldestReceivedAt, undefined, 'empty: nothing waits');
    for (let i = 0; i < 6; i++) await first.append([makeStoredEvent({ at: t0 + i * 1000 })]);
    assert.equal(first.oldestReceivedAt, t0);
    await first.close();

    const second = await Spool.open({ dir: spoolDir, maxBytes: 10_000_000, segmentBytes: 1500, logger });
    assert.equal(second.oldestReceivedAt, t0, 'read back from the segments at start');
    await second.replay(async () => {});
    assert.equal(second.oldestReceivedAt, undefined, 'replayed: nothing waits');
    await second.close();
  });
});
