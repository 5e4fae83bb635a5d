import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { fuzzService } from '../src/fuzz-service.js';
import { formatFuzzReport } from '../src/fuzz-surface.js';
import { logger } from './support/service.js';

/** A fixed-seed slice of `npm run fuzz`: every ingest route and every route of /docs/json. */
describe('fuzzing the public surface (fixed seed)', () => {
  let service: Embedded | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  after(async () => {
    await service?.close();
    await cleanup?.();
  });

  it('answers every malformed or hostile request with a 4xx JSON error or a 2xx, stores only what it acknowledged, and never leaks the other tenant', async (t) => {
    // The key's rate limit off, so the SQL and query parameters reach the queries instead of a 429.
    const stack = await testStack('fuzz', { RATE_LIMIT_KEY_PER_MINUTE: '0' });
    cleanup = stack.cleanup;
    service = await startEmbedded(stack.config, logger);
    const outcome = await fuzzService(service, { runs: 25, seed: 20261126 });
    for (const line of formatFuzzReport(outcome).split('\n')) t.diagnostic(line);
    const failures = outcome.endpoints.flatMap((e) => e.failures.map((f) => `${e.endpoint}: ${f}`));
    assert.deepEqual(failures, []);
    for (const route of [
      'POST /v1/events (batch)',
      'POST /api/event (text/plain)',
      'GET /v1/pixel.gif',
      'POST /v1/sql',
    ])
      assert.ok(
        outcome.endpoints.some((e) => e.endpoint === route && e.tried > 0),
        `${route} fuzzed`,
      );
    assert.ok(outcome.endpoints.length >= 15, `${outcome.endpoints.length} endpoints fuzzed`);
    assert.equal(outcome.unacknowledgedRows, 0, 'no row stored that was not acknowledged');
    assert.equal(outcome.missingRows, 0, 'every acknowledged event stored');
    assert.equal(outcome.deadLetters, 0, 'ingest produced nothing the stream could not parse');
    assert.ok(outcome.healthyAfter, 'the service still answers /health');
  });
});
