/**
 * Ingest throughput and latency, side by side in one run on this machine:
 *   1. a bare fastify route (same JSON body, no work): the ceiling;
 *   2. POST /v1/events, one event per request: validation, enrichment, Kafka ack (acks=all);
 *   3. POST /v1/events with 500 events per request.
 * The service under test is the ingest role alone (`npm run role -- --role ingest`, one container of
 * the cluster mode) in its own process, with its own local Kafka. The ClickHouse that consumes the
 * topic runs elsewhere in that mode, so the role's embedded ClickHouse here reaches no broker.
 * --instances N runs N ingest roles side by side, as N containers behind a load balancer would (each
 * with its own data directory and spool), against N bare routes, each taking an equal share of the
 * connections. --embedded also measures rows 2 and 3 against `npm start` (every role and chDB's
 * Kafka consumer in one process, with its own Kafka), after the ingest roles have stopped.
 *
 *   npm run bench:ingest -- [--seconds 15] [--connections 50] [--instances 1] [--embedded] [--no-record]
 */

import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, toClickHouseTime } from '@sightline/core';
import autocannon from 'autocannon';
import {
  type RunningProcess,
  root,
  startBareServer,
  startIngestRole,
  startService,
} from './ingest/service-process.js';
import { seedSites } from './soak/service-client.js';
import { importStack } from './speed/runtime-imports.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    instances: { type: 'string', default: '1' },
    embedded: { type: 'boolean', default: false },
    'no-record': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:ingest -- [--seconds 15] [--connections 50] [--instances 1] [--embedded] [--no-record]\nAppends its figures to bench/RESULTS.md, unless --no-record.',
  );
  process.exit(0);
}
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1 || instances > connections) {
  console.error('--instances must be a whole number from 1 to --connections');
  process.exit(2);
}

interface Row {
  name: string;
  requests: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const headers = {
  'content-type': 'application/json',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
};

/**
 * Three seconds of the load before the first measured run of a server, not recorded: measured cold,
 * its first run is mostly V8 compiling (single events reached 0.20 of the bare route cold, 0.33 after
 * two seconds of load).
 */
async function warmUp(urls: string[], body: string): Promise<void> {
  await Promise.all(
    urls.map((url, i) =>
      autocannon({ url, method: 'POST', headers, body, connections: share(i, urls.length), duration: 3 }),
    ),
  );
}

/** Server i's share of --connections over n servers (the first ones take what does not divide). */
const share = (i: number, n: number) => Math.floor(connections / n) + (i < connections % n ? 1 : 0);

/**
 * `--connections` spread over the servers, all loaded at once; requests summed, latencies the
 * slowest server's percentiles.
 */
async function load(name: string, urls: string[], body: string, eventsPerRequest: number): Promise<Row> {
  process.stdout.write(`  ${name}: ${seconds} s at ${connections} connections… `);
  const results = await Promise.all(
    urls.map((url, i) =>
      autocannon({
        url,
        method: 'POST',
        headers,
        body,
        connections: share(i, urls.length),
        duration: seconds,
      }),
    ),
  );
  const requests = results.reduce((sum, r) => sum + r.requests.average, 0);
  const row = {
    name,
    requests,
    eventsPerSecond: requests * eventsPerRequest,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
  };
  console.log(`${Math.round(row.requests)} req/s, p99 ${row.p99} ms`);
  return row;
}

/** The benchmark's page view: the bare route gets the same body. */
const pageview = (siteId: string) => ({
  site_id: siteId,
  name: 'pageview',
  url: 'https://bench.example/pricing?utm_source=news',
  referrer: 'https://www.google.com/',
});

/** One event and a 500-event batch to the service's POST /v1/events. */
async function loadEvents(label: string, urls: string[], siteId: string): Promise<Row[]> {
  const batch = JSON.stringify({ events: Array.from({ length: 500 }, () => pageview(siteId)) });
  const routes = urls.map((url) => `${url}/v1/events`);
  await warmUp(routes, JSON.stringify(pageview(siteId)));
  return [
    await load(`${label}: POST /v1/events, 1 event`, routes, JSON.stringify(pageview(siteId)), 1),
    await load(`${label}: POST /v1/events, 500 events`, routes, batch, 500),
  ];
}

const serviceEnv = {
  RATE_LIMIT_IP_PER_MINUTE: '0',
  RATE_LIMIT_SITE_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
};
const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-bench-'));
const rows: Row[] = [];
/** Rows name N servers as "× N". */
const plural = instances > 1 ? ` × ${instances}` : '';
try {
  console.log(`Starting a local Kafka, ${instances} ingest role(s) and ${instances} bare server(s)…`);
  const kafka = await (await importStack()).startLocalKafka({
    dataDir: path.join(dataDir, 'kafka'),
    port: 19392,
    controllerPort: 19393,
    logger: createLogger({ LOG_LEVEL: 'warn' }),
  });
  try {
    const siteId = 's_bench';
    const servers: RunningProcess[] = [];
    try {
      const ingest: RunningProcess[] = [];
      const bare: RunningProcess[] = [];
      for (let i = 0; i < instances; i += 1) {
        const roleEnv = {
          ...serviceEnv,
          DATA_DIR: path.join(dataDir, `ingest-${i}`),
          KAFKA_BROKERS: kafka.brokers,
          // The consuming ClickHouse is another machine in the cluster mode: not on these cores.
          CLICKHOUSE_KAFKA_BROKERS: '127.0.0.1:1',
        };
        // The site a serving process would otherwise create, in the role's own chDB.
        await seedSites(roleEnv, [
          {
            site_id: siteId,
            domain: 'bench.example',
            timezone: 'UTC',
            allowed_hostnames: [],
            created_at: toClickHouseTime(Date.now()),
          },
        ]);
        ingest.push(await startIngestRole(roleEnv, 18480 + i));
        servers.push(ingest[i]!);
        bare.push(await startBareServer());
        servers.push(bare[i]!);
      }
      const bareRoutes = bare.map((b) => `${b.url}/bare`);
      await warmUp(bareRoutes, JSON.stringify(pageview(siteId)));
      rows.push(await load(`bare fastify route${plural}`, bareRoutes, JSON.stringify(pageview(siteId)), 1));
      rows.push(
        ...(await loadEvents(
          `ingest role${plural}`,
          ingest.map((r) => r.url),
          siteId,
        )),
      );
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  } finally {
    await kafka.stop();
  }
  if (values.embedded) {
    console.log('Starting npm start (every role, its own Kafka)…');
    const adminToken = `bench-${randomUUID()}`;
    const service = await startService(
      {
        ...serviceEnv,
        DATA_DIR: path.join(dataDir, 'embedded'),
        ADMIN_TOKEN: adminToken,
        LOCAL_KAFKA_PORT: '19394',
      },
      18481,
    );
    try {
      const site = await fetch(`${service.url}/v1/admin/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'bench.example' }),
      });
      const { site_id } = (await site.json()) as { site_id: string };
      rows.push(...(await loadEvents('npm start', [service.url], site_id)));
    } finally {
      await service.stop();
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const ratio = rows[1]!.requests / rows[0]!.requests;
const table = [
  '| run | requests/s | events/s | p50 ms | p99 ms | non-2xx | errors |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.requests)} | ${Math.round(r.eventsPerSecond)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`,
  ),
].join('\n');
const summary = `ingest role${plural}, single event / bare route${plural} = ${ratio.toFixed(2)}`;
console.log(`\n${table}\n\n${summary}`);
if (!values['no-record'])
  await appendFile(
    path.join(root, 'bench/RESULTS.md'),
    `\n## Ingest, ${new Date().toISOString().slice(0, 10)}\n\n\`npm run bench:ingest -- --seconds ${seconds} --connections ${connections} --instances ${instances}${values.embedded ? ' --embedded' : ''}\` (autocannon in the benchmark process; each ingest role, each bare route and Kafka in its own process; 2 cores shared by all)\n\n${table}\n\n${summary}\n`,
  );
