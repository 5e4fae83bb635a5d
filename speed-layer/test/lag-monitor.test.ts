import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Logger } from '@sightline/core';
import { startLagMonitor } from '../src/lag-monitor.js';
import type { StreamStatus } from '../src/stream-status.js';

type Line = [level: 'warn' | 'info' | 'error', message: string];

function recordingLogger(lines: Line[]): Logger {
  const at = (level: Line[0]) => (fields: unknown, message?: string) =>
    lines.push([level, typeof fields === 'string' ? fields : String(message)]);
  return { warn: at('warn'), info: at('info'), error: at('error'), debug: () => {} } as unknown as Logger;
}

/** Plays the readings in order (an Error is a failed status call), then resolves `done`. */
function scripted(readings: (StreamStatus | Error)[]) {
  let next = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const status = async () => {
    const reading = readings[Math.min(next, readings.length - 1)]!;
    next += 1;
    if (next === readings.length) finish();
    if (reading instanceof Error) throw reading;
    return reading;
  };
  return { status, done };
}

async function run(readings: (StreamStatus | Error)[], thresholdMessages = 1000) {
  const lines: Line[] = [];
  const seen: StreamStatus[] = [];
  const { status, done } = scripted(readings);
  const stop = startLagMonitor({
    status,
    thresholdMessages,
    intervalMs: 1,
    logger: recordingLogger(lines),
    onStatus: (s) => seen.push(s),
  });
  await done;
  await stop();
  return { lines, seen };
}

// The monitor's timer is unref'd (it never holds a process open); the tests hold the loop instead.
let keepAlive: NodeJS.Timeout;
before(() => {
  keepAlive = setInterval(() => {}, 1000);
});
after(() => clearInterval(keepAlive));

describe('lag monitor', () => {
  it('logs one warn when lag crosses the threshold and one info when it recovers', async () => {
    const { lines } = await run([
      { lag: 10, deadLetters: 0 },
      { lag: 1000, deadLetters: 0 },
      { lag: 5000, deadLetters: 0 },
      { lag: 7000, deadLetters: 0 },
      { lag: 800, deadLetters: 0 },
      { lag: 0, deadLetters: 0 },
      { lag: 1001, deadLetters: 0 },
    ]);
    assert.deepEqual(lines, [
      ['warn', 'consumer lag 5000 exceeds threshold 1000'],
      ['info', 'consumer lag 800 is back under threshold 1000'],
      ['warn', 'consumer lag 1001 exceeds threshold 1000'],
    ]);
  });

  it('logs an error each time the dead-letter count grows, not for the ones there at start', async () => {
    const { lines } = await run([
      { lag: 0, deadLetters: 4 },
      { lag: 0, deadLetters: 4 },
      { lag: 0, deadLetters: 5 },
      { lag: 0, deadLetters: 5 },
      { lag: 0, deadLetters: 8 },
      // Old dead letters expired: the baseline follows, and the next new one still shows.
      { lag: 0, deadLetters: 2 },
      { lag: 0, deadLetters: 3 },
    ]);
    assert.deepEqual(lines, [
      ['error', '1 new dead-letter message(s), 5 in events_dead_letter'],
      ['error', '3 new dead-letter message(s), 8 in events_dead_letter'],
      ['error', '1 new dead-letter message(s), 3 in events_dead_letter'],
    ]);
  });

  it('survives failing status calls, saying so once per outage, and hands every reading on', async () => {
    const { lines, seen } = await run([
      { lag: 2000, deadLetters: 0 },
      new Error('broker down'),
      new Error('broker down'),
      { lag: 3000, deadLetters: 1 },
      { lag: 0, deadLetters: 1 },
    ]);
    assert.deepEqual(lines, [
      ['warn', 'consumer lag 2000 exceeds threshold 1000'],
      ['warn', 'stream status unavailable; lag is unknown'],
      ['info', 'stream status available again'],
      ['error', '1 new dead-letter message(s), 1 in events_dead_letter'],
      ['info', 'consumer lag 0 is back under threshold 1000'],
    ]);
    assert.deepEqual(
      seen.map((s) => s.lag),
      [2000, 3000, 0],
    );
  });

  it("alerts on the age of ingest's spool, which the lag cannot show, also while the status fails", async () => {
    const ages = [0, 30, 90, 120, 10, 0];
    const lines: Line[] = [];
    let poll = 0;
    const { status, done } = scripted([
      { lag: 0, deadLetters: 0 },
      new Error('broker down'),
      new Error('broker down'),
      new Error('broker down'),
      { lag: 0, deadLetters: 0 },
      { lag: 0, deadLetters: 0 },
    ]);
    const stop = startLagMonitor({
      status,
      spoolAgeSeconds: () => ages[Math.min(poll++, ages.length - 1)]!,
      spoolAgeThresholdSeconds: 60,
      thresholdMessages: 1000,
      intervalMs: 1,
      logger: recordingLogger(lines),
    });
    await done;
    await stop();
    assert.deepEqual(
      lines.filter(([, message]) => message.includes('spool')),
      [
        ['warn', "events have waited 90 s in ingest's spool for Kafka, over the threshold of 60 s"],
        ['info', "ingest's spool delay is back under 60 s"],
      ],
    );
  });

  it('stops polling after stop()', async () => {
    let calls = 0;
    const stop = startLagMonitor({
      status: async () => {
        calls += 1;
        return { lag: 0, deadLetters: 0 };
      },
      thresholdMessages: 10,
      intervalMs: 1,
      logger: recordingLogger([]),
    });
    while (calls < 3) await new Promise((r) => setTimeout(r, 1));
    await stop();
    const atStop = calls;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls, atStop);
  });
});
