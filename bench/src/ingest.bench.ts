/**
 * Ingest throughput and latency, side by side in one run on this machine:
 *   1. a bare fastify route (same JSON body, no work): the ceiling;
 *   2. POST /v1/events, one event per request: validation, enrichment, Kafka ack (acks=all);
 *   3. POST /v1/events with 500 events per request.
 * The service runs as `npm start` would, in its own process with its own local Kafka.
 *
 *   npm run bench:ingest -- [--seconds 15] [--connections 50]
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { root, startBareServer, startService } from './ingest/service-process.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:ingest -- [--seconds 15] [--connections 50]\nAppends its figures to bench/RESULTS.md.',
  );
  process.exit(0);
}
const seconds = Number(values.seconds);
const connections = Number(values.connections);

interface Row {
  name: string;
  requests: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(name: string, url: string, body: string, eventsPerRequest: number): Promise<Row> {
  process.stdout.write(`  ${name}: ${seconds} s at ${connections} connections… `);
  const result = await autocannon({
    url,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
    },
    body,
    connections,
    duration: seconds,
  });
  const row = {
    name,
    requests: result.requests.average,
    eventsPerSecond: result.requests.average * eventsPerRequest,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  console.log(`${Math.round(row.requests)} req/s, p99 ${row.p99} ms`);
  return row;
}

const adminToken = `bench-${randomUUID()}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-bench-'));
console.log('Starting the service (local Kafka, chDB) and the bare server…');
const service = await startService(
  {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    LOCAL_KAFKA_PORT: '19392',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  },
  18480,
);
const bare = await startBareServer();
try {
  const site = await fetch(`${service.url}/v1/admin/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ domain: 'bench.example' }),
  });
  const { site_id } = (await site.json()) as { site_id: string };
  const event = {
    site_id,
    name: 'pageview',
    url: 'https://bench.example/pricing?utm_source=news',
    referrer: 'https://www.google.com/',
  };
  const single = JSON.stringify(event);
  const batch = JSON.stringify({ events: Array.from({ length: 500 }, () => event) });

  const rows = [
    await load('bare fastify route', `${bare.url}/bare`, single, 1),
    await load('POST /v1/events, 1 event', `${service.url}/v1/events`, single, 1),
    await load('POST /v1/events, 500 events', `${service.url}/v1/events`, batch, 500),
  ];
  const ratio = rows[1]!.requests / rows[0]!.requests;
  const table = [
    '| run | requests/s | events/s | p50 ms | p99 ms | non-2xx | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.requests)} | ${Math.round(r.eventsPerSecond)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`,
    ),
  ].join('\n');
  const summary = `single event / bare route = ${ratio.toFixed(2)}`;
  console.log(`\n${table}\n\n${summary}`);
  await appendFile(
    path.join(root, 'bench/RESULTS.md'),
    `\n## Ingest, ${new Date().toISOString().slice(0, 10)}\n\n\`npm run bench:ingest -- --seconds ${seconds} --connections ${connections}\` (autocannon in the benchmark process; service and its Kafka in their own processes; 2 cores shared by all)\n\n${table}\n\n${summary}\n`,
  );
} finally {
  await bare.stop();
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
}
