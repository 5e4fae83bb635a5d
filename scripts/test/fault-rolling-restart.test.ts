import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ledger, postEvents, ServiceClient, seedSites, startProcess, stopProcess } from '@sightline/bench';
import type { Site } from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import { type IngestProxy, startIngestProxy } from '../src/ingest-proxy.js';
import { freePort } from '../src/stack/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rolling restart of two ingest instances behind a proxy', () => {
  const children: (ChildProcess | undefined)[] = [];
  let proxy: IngestProxy | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await proxy?.close();
    for (const child of children) await stopProcess(child, 'SIGKILL');
    for (const cleanup of cleanups) await cleanup();
  });

  it('restarts each instance under load: every request answered 202 (after the client retries it counts), each event stored once', async (t) => {
    const { config, cleanup } = await testStack('fault-rolling');
    cleanups.push(cleanup);
    const shared: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) if (value !== undefined) shared[key] = String(value);
    const output = await open(path.join(config.DATA_DIR, 'processes.log'), 'a');
    cleanups.unshift(() => output.close());
    const role = async (name: string, roles: string, extra: Record<string, string> = {}) => {
      const port = await freePort();
      const env = {
        ...shared,
        ...extra,
        DATA_DIR: path.join(config.DATA_DIR, name),
        PORT: String(port),
        LOG_LEVEL: 'error',
      };
      const url = `http://127.0.0.1:${port}`;
      return {
        env,
        url,
        start: () => startProcess('scripts/src/role.ts', ['--role', roles], env, url, output.fd),
      };
    };

    // The process that consumes Kafka into ClickHouse, commits hours and answers queries.
    const consumer = await role('consumer', 'speed,batch,serving');
    children.push(await consumer.start());
    const service = new ServiceClient(consumer.url, config.ADMIN_TOKEN!);
    const site = await service.post<Site>('/v1/admin/sites', { domain: 'rolling.example' }, 201);
    const reader = await service.readerFor([site.site_id]);

    // Two ingest instances, each with a chDB of its own holding the site; their Kafka engine table
    // points at a closed port, so only the consumer's chDB consumes the topic (as one ClickHouse
    // server would in a cluster).
    const noBroker = `127.0.0.1:${await freePort()}`;
    const instances = [
      await role('ingest-1', 'ingest', { CLICKHOUSE_KAFKA_BROKERS: noBroker }),
      await role('ingest-2', 'ingest', { CLICKHOUSE_KAFKA_BROKERS: noBroker }),
    ];
    const running: ChildProcess[] = [];
    for (const instance of instances) {
      await seedSites(instance.env, [site]);
      const child = await instance.start();
      running.push(child);
      children.push(child);
    }
    proxy = await startIngestProxy({ upstreams: instances.map((i) => i.url) });

    // Steady load through the proxy: 4 clients, 10 events a request, each in the hour that ended an
    // hour ago so the batch layer can commit it. A request not answered 202 is sent again with the
    // same event_ids after 200 ms, as the SDKs do.
    const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const ledger = new Ledger(10, randomBytes(4).toString('hex'));
    const firstAnswers = new Map<string, number>();
    let clientRetries = 0;
    let failed = 0;
    let loading = true;
    const client = async () => {
      while (loading) {
        const { request, ids } = ledger.take();
        for (let attempt = 0; ; attempt++) {
          const response = await postEvents(proxy!.url, site.site_id, ids, () => hourStart + 60_000);
          await response?.body?.cancel();
          const status = response ? String(response.status) : 'no answer';
          if (attempt === 0) firstAnswers.set(status, (firstAnswers.get(status) ?? 0) + 1);
          if (status === '202') {
            ledger.acked.push(request);
            break;
          }
          if (attempt === 20) {
            failed++;
            break;
          }
          clientRetries++;
          await sleep(200);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));

    await sleep(5000);
    for (const [i, instance] of instances.entries()) {
      const before = ledger.acked.length;
      assert.equal(await stopProcess(running[i], 'SIGTERM'), 0, `instance ${i + 1} drains and exits 0`);
      const child = await instance.start();
      children.push(child);
      running[i] = child;
      // Load keeps flowing while the instance is down and after it is back.
      await sleep(3000);
      assert.ok(ledger.acked.length > before, `requests acknowledged while instance ${i + 1} restarted`);
    }
    loading = false;
    await load;

    t.diagnostic(
      `requests: ${ledger.acked.length} acknowledged, ${failed} failed; first answers ${JSON.stringify(Object.fromEntries(firstAnswers))}; retried by the proxy ${proxy.retried}, by the clients ${clientRetries}`,
    );
    assert.equal(failed, 0, 'no request failed after the client retried it');
    assert.ok(ledger.acked.length > 50, 'steady load');

    const found = await service.waitStored(reader, site.site_id, ledger, 180_000);
    assert.equal(found, ledger.ackedEvents, 'every acknowledged event is in events_raw');
    assert.ok(await service.commitHour(hourStart, 300_000), 'the batch layer commits the hour');
    const counts = await service.hourCounts(reader, site.site_id, hourStart);
    assert.equal(counts.distinctIds, ledger.ackedEvents, 'no event stored that was not acknowledged');
    assert.equal(counts.rollup, ledger.ackedEvents, 'the committed hour counts each event once');
  });
});
