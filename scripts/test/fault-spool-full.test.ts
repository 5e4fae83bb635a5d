import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { freePort, type LocalKafka, startLocalKafka } from '../src/stack/index.js';
import { createSite, logger, steadyLoad, waitForEvents } from './support/service.js';

describe('the spool fills up while Kafka is down', () => {
  let service: Embedded | undefined;
  let kafka: LocalKafka | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await service?.close();
    await kafka?.stop();
    for (const c of cleanups) await c();
  });

  it('answers 503 with Retry-After once the spool is full, and loses none of what it acknowledged', async (t) => {
    const ports = { port: await freePort(), controllerPort: await freePort() };
    const stack = await testStack('fault-spool', { PRODUCE_DEADLINE_MS: '300', SPOOL_MAX_BYTES: '40000' });
    cleanups.push(stack.cleanup);
    kafka = await startLocalKafka({ dataDir: stack.config.DATA_DIR, logger, ...ports });
    service = await startEmbedded({ ...stack.config, KAFKA_BROKERS: kafka.brokers }, logger);
    const siteId = await createSite(service, 'full.example');
    await kafka.stop();

    let sent = 0;
    const load = await steadyLoad(service, siteId, () => sent++ > 150, 4);
    assert.ok((load.statuses.get(503) ?? 0) > 0, 'a full spool answers 503');
    assert.ok(load.acked.length > 0, 'the spool took events before it filled');
    assert.deepEqual(
      [...load.statuses.keys()].filter((s) => s !== 202 && s !== 503),
      [],
      '202 and 503 are the only answers',
    );
    const ready = await fetch(`${service.url}/ready`);
    assert.equal(ready.status, 503, 'not ready while neither Kafka nor the spool can take events');
    const refusal = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site_id: siteId, name: 'pageview', url: 'https://full.example/' }),
    });
    assert.equal(refusal.status, 503);
    assert.ok(Number(refusal.headers.get('retry-after')) > 0);

    kafka = await startLocalKafka({ dataDir: stack.config.DATA_DIR, logger, ...ports });
    const waitStarted = Date.now();
    const found = await waitForEvents(service, load.acked, 240_000);
    t.diagnostic(
      `${load.acked.length} acknowledged, ${load.statuses.get(503)} refused with 503; all in events_raw ${((Date.now() - waitStarted) / 1000).toFixed(1)} s after Kafka was back`,
    );
    assert.equal(found, load.acked.length, 'every acknowledged event is in events_raw');
  });
});
