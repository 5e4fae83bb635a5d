import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak, soakSummary } from '@sightline/bench';

describe('a short soak under every fault', () => {
  it('loses no acknowledged event, counts each once, refuses only with 503/429 and recovers from each fault', async (t) => {
    // Two minutes at 100 events/s: Kafka down 15 s, Redis down 3 s and restarted empty, kill -9 of
    // the service, 500 malformed messages; the soak's own Kafka, Redis and service process.
    const result = await runSoak({
      minutes: 2,
      rate: 100,
      batch: 10,
      kafkaDownSeconds: 15,
      redisDownSeconds: 3,
      drainSeconds: 240,
      log: () => {},
    });
    const summary = soakSummary(result);
    for (const line of summary.split('\n')) if (line) t.diagnostic(line);
    assert.equal(result.faults.length, 4, summary);
    assert.ok(result.acked > 0, summary);
    assert.ok((result.statuses.get('503') ?? 0) > 0, `the full spool answered 503\n${summary}`);
    assert.equal(result.found, result.acked, `every acknowledged event is in events_raw\n${summary}`);
    assert.deepEqual(result.refusals, [], `only 503/429 refused events\n${summary}`);
    assert.ok(result.committed, `the batch layer committed the hour after the Redis restart\n${summary}`);
    assert.equal(result.rollup, result.counted, `the committed hour counts each event once\n${summary}`);
    for (const fault of result.faults) {
      assert.ok(fault.ingestRecovered, `ingest recovered from ${fault.name}\n${summary}`);
      assert.ok(fault.speedRecovered, `the speed layer recovered from ${fault.name}\n${summary}`);
    }
    assert.ok(result.rateLimitBack !== undefined, `rate limits count in the restarted Redis\n${summary}`);
  });
});
