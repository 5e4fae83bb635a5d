import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { freePort, type LocalKafka, startLocalKafka } from '../src/stack/index.js';
import { createSite, logger, steadyLoad, waitForEvents } from './support/service.js';

describe('Kafka goes away under load', () => {
  let kafka: LocalKafka | undefined;
  let service: Embedded | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await service?.close();
    await kafka?.stop();
    for (const c of cleanups) await c();
  });

  it('keeps accepting into the spool while Kafka is stopped, and every acknowledged event reaches events_raw', async (t) => {
    const ports = { port: await freePort(), controllerPort: await freePort() };
    const stack = await testStack('fault-kafka', { PRODUCE_DEADLINE_MS: '500' });
    cleanups.push(stack.cleanup);
    kafka = await startLocalKafka({ dataDir: stack.config.DATA_DIR, logger, ...ports });
    service = await startEmbedded({ ...stack.config, KAFKA_BROKERS: kafka.brokers }, logger);
    const siteId = await createSite(service, 'fault.example');

    const started = Date.now();
    let phase = 'up';
    const faults = (async () => {
      await new Promise((r) => setTimeout(r, 3000));
      await kafka!.stop();
      phase = 'down';
      await new Promise((r) => setTimeout(r, 6000));
      kafka = await startLocalKafka({ dataDir: stack.config.DATA_DIR, logger, ...ports });
      phase = 'back';
    })();
    const load = await steadyLoad(service, siteId, () => phase === 'back' && Date.now() - started > 15_000);
    await faults;

    const refused = [...load.statuses].filter(([status]) => status !== 202);
    assert.deepEqual(refused, [], 'with the spool, Kafka being down refuses nothing');
    assert.ok(load.acked.length > 100, `a steady load was sent (${load.acked.length} acknowledged)`);
    const spooled = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(
      spooled,
      /sightline_ingest_events_accepted_total\{stored="spooled"\} [1-9]/,
      'some events went through the spool',
    );

    const waitStarted = Date.now();
    const found = await waitForEvents(service, load.acked, 240_000);
    t.diagnostic(
      `${load.acked.length} acknowledged; all in events_raw ${((Date.now() - waitStarted) / 1000).toFixed(1)} s after the load stopped`,
    );
    assert.equal(found, load.acked.length, 'every acknowledged event is in events_raw');
  });
});
