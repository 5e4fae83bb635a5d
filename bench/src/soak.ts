/**
 * `npm run soak -- --minutes M --rate R`: the service as its own process under steady traffic for
 * M minutes, with faults injected on a schedule (Kafka stopped and restarted long enough to fill
 * the spool, the service kill -9ed and restarted, a burst of malformed messages produced straight
 * to the topic). A ledger keeps every event_id answered 202; at the end events_raw must hold each
 * of them, and only 503 or 429 may have refused an event.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '@sightline/core';
import { Kafka, logLevel } from 'kafkajs';
import { root } from './ingest/service-process.js';
import { importStack, type LocalKafka } from './speed/runtime-imports.js';

const help = `Usage: npm run soak -- [--minutes M] [--rate R] [--no-record]

Starts a local Kafka and the service (npm start's entry point, its own process, a fresh DATA_DIR),
sends R events/s (default 100) in batches of 10 to POST /v1/events for M minutes (default 3), and
injects, spread over the run: Kafka stopped for 30 s (the spool, capped at 256 kB, fills and the
service answers 503), the service killed with SIGKILL and restarted, and 500 malformed messages
produced straight to the events topic. Events are timed in the hour that ended an hour ago (late
events), so that hour can be committed: at the end the batch layer recomputes it (as npm run
reprocess does) and, through POST /v1/sql, the soak checks every acknowledged event_id is in
events_raw and the committed hour counts each stored event exactly once. Prints a summary and appends it to
bench/RESULTS.md unless --no-record. Uses the Redis at REDIS_URL or 127.0.0.1:6379 with names of
its own.`;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fault {
  name: string;
  at: number;
  cleared?: number;
  recovered?: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '3' },
      rate: { type: 'string', default: '100' },
      'no-record': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  if (!(minutes > 0) || !(rate > 0)) {
    console.error('sightline soak: --minutes and --rate must be positive numbers (see --help)');
    return 2;
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-soak-'));
  const unique = `soak-${Date.now().toString(36)}`;
  const port = await freePort();
  const kafkaPorts = { port: await freePort(), controllerPort: await freePort() };
  const adminToken = `soak-admin-${randomUUID()}`;
  const logger = createLogger({ LOG_LEVEL: 'warn' } as never);
  const { startLocalKafka } = await importStack();
  const startKafka = () =>
    startLocalKafka({ dataDir: path.join(dataDir, 'kafka-owner'), logger, ...kafkaPorts });
  console.log('Starting Kafka…');
  let kafka: LocalKafka | undefined = await startKafka();
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    KAFKA_BROKERS: kafka.brokers,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    KAFKA_EVENTS_TOPIC: `events-${unique}`,
    KAFKA_CONSUMER_GROUP: `speed-${unique}`,
    BATCH_QUEUE: `batch-${unique}`,
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    LOG_LEVEL: 'error',
    SPOOL_MAX_BYTES: String(256 * 1024),
    PRODUCE_DEADLINE_MS: '500',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
  };
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const startService = async () => {
    child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', path.join(root, 'scripts/src/start.ts')],
      { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
      if (
        await fetch(`${url}/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await sleep(250);
    }
    throw new Error('the service was not ready within 180 s');
  };
  const stopService = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill(signal);
    await exited;
  };

  try {
    console.log('Starting the service…');
    await startService();
    const site = await fetch(`${url}/v1/admin/sites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ domain: `${unique}.soak.example` }),
    });
    if (site.status !== 201) throw new Error(`site: ${site.status} ${await site.text()}`);
    const siteId = ((await site.json()) as { site_id: string }).site_id;

    const acked = new Set<string>();
    const statuses = new Map<string, number>();
    let lastAck = 0;
    const durationMs = minutes * 60_000;
    // Every event is timed in the hour that ended an hour ago (a late event, accepted for 72 hours):
    // the hour is closed, so the batch layer can commit it and its numbers become authoritative.
    const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const started = Date.now();
    const batch = 10;
    const intervalMs = (1000 * batch) / rate;
    let sending = true;
    const inFlight = new Set<Promise<void>>();
    const send = async () => {
      const ids = Array.from({ length: batch }, () => randomUUID());
      const events = ids.map((event_id) => ({
        site_id: siteId,
        name: 'pageview',
        url: `https://${unique}.soak.example/p/${event_id.slice(0, 2)}`,
        event_id,
        timestamp: hourStart + Math.floor(Math.random() * 3_600_000),
      }));
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Soak/1.0',
        },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      const status = response ? String(response.status) : 'no answer';
      statuses.set(status, (statuses.get(status) ?? 0) + batch);
      if (response?.status === 202) {
        for (const id of ((await response.json()) as { event_ids: string[] }).event_ids) acked.add(id);
        lastAck = Date.now();
      } else await response?.body?.cancel();
    };
    const traffic = (async () => {
      let next = Date.now();
      while (sending) {
        const p = send().finally(() => inFlight.delete(p));
        inFlight.add(p);
        next += intervalMs;
        await sleep(Math.max(0, next - Date.now()));
      }
      await Promise.all(inFlight);
    })();

    // Waits until an event sent after `since` has been acknowledged: ingest took traffic again.
    const recovered = async (fault: Fault) => {
      fault.cleared = Date.now();
      while (lastAck <= fault.cleared && Date.now() - fault.cleared < 180_000) await sleep(100);
      fault.recovered = lastAck > fault.cleared ? lastAck : undefined;
    };
    const faults: Fault[] = [];
    const slot = durationMs / 4;
    const at = async (n: number) => {
      await sleep(Math.max(0, started + slot * n - Date.now()));
    };

    await at(1);
    const kafkaFault: Fault = { name: 'Kafka stopped 30 s (spool fills: 503)', at: Date.now() };
    faults.push(kafkaFault);
    console.log(kafkaFault.name);
    await kafka.stop();
    kafka = undefined;
    await sleep(30_000);
    kafka = await startKafka();
    await recovered(kafkaFault);

    await at(2);
    const killFault: Fault = { name: 'service kill -9 and restart', at: Date.now() };
    faults.push(killFault);
    console.log(killFault.name);
    await stopService('SIGKILL');
    await startService();
    await recovered(killFault);

    await at(3);
    const garbage: Fault = { name: '500 malformed messages to the topic', at: Date.now() };
    faults.push(garbage);
    console.log(garbage.name);
    const producer = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({
      topic: env.KAFKA_EVENTS_TOPIC!,
      messages: Array.from({ length: 500 }, (_, i) => ({
        value: i % 2 ? `{"site_id":"${siteId}","broken` : Buffer.from([0xff, 0x00, i % 256]),
      })),
    });
    await producer.disconnect();
    await recovered(garbage);

    await sleep(Math.max(0, started + durationMs - Date.now()));
    sending = false;
    await traffic;
    console.log(`Traffic done: ${acked.size} events acknowledged; waiting for events_raw…`);

    // Only the service's process can open its chDB directory: ask through POST /v1/sql with a
    // read key for the site (the analyst view events is events_raw; hourly is the Lambda merge).
    const keyAnswer = await fetch(`${url}/v1/admin/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ name: 'soak', sites: [siteId] }),
    });
    if (keyAnswer.status !== 201) throw new Error(`key: ${keyAnswer.status} ${await keyAnswer.text()}`);
    const key = ((await keyAnswer.json()) as { key: string }).key;
    const sql = async (query: string): Promise<Record<string, string>> => {
      for (;;) {
        const response = await fetch(`${url}/v1/sql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, site_id: siteId }),
        });
        if (response.status === 429 || response.status === 503) {
          await sleep(1000 * Number(response.headers.get('retry-after') ?? 1));
          continue;
        }
        const body = (await response.json()) as { data?: Record<string, string>[] };
        if (response.status !== 200 || !body.data?.[0])
          throw new Error(`sql: ${response.status} ${JSON.stringify(body)}`);
        return body.data[0];
      }
    };
    const ids = [...acked];
    const countFound = async () => {
      let n = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500).map((id) => `'${id}'`);
        const row = await sql(
          `SELECT uniqExact(event_id) AS n FROM events WHERE event_id IN (${chunk.join(',')})`,
        );
        n += Number(row.n);
      }
      return n;
    };
    const drainDeadline = Date.now() + 300_000;
    let found = await countFound();
    while (found < ids.length && Date.now() < drainDeadline) {
      await sleep(10_000);
      found = await countFound();
    }
    const totals = await sql(
      'SELECT count() AS rows, uniqExact(event_id) AS distinct_ids, uniqExactIf(event_id, NOT is_bot) AS counted FROM events',
    );
    const rows = Number(totals.rows);
    const counted = Number(totals.counted);

    // Commit the hour through the batch layer (as npm run reprocess does), then read the merge.
    const admin = { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` };
    const from = new Date(hourStart).toISOString();
    const to = new Date(hourStart + 3_600_000).toISOString();
    const since = Date.now();
    const queued = await fetch(`${url}/v1/admin/reprocess`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ from, to }),
    });
    if (queued.status !== 202) throw new Error(`reprocess: ${queued.status} ${await queued.text()}`);
    const range = (await queued.json()) as { from: string; to: string; hours: number };
    const commitDeadline = Date.now() + 600_000;
    let committed = 0;
    while (committed < range.hours && Date.now() < commitDeadline) {
      await sleep(2000);
      const query = new URLSearchParams({ since: String(since), from: range.from, to: range.to });
      const status = (await (await fetch(`${url}/v1/admin/batch?${query}`, { headers: admin })).json()) as {
        runs_since: { committed: number };
      };
      committed = status.runs_since.committed;
    }
    const hourly = await sql(
      `SELECT sum(pageviews) AS pageviews, toString(groupUniqArray(source)) AS sources FROM hourly WHERE hour = toDateTime(${hourStart / 1000}, 'UTC')`,
    );
    const rollup = Number(hourly.pageviews);
    const watermark = (await sql('SELECT * FROM watermark')) as Record<string, string>;

    const refusals = [...statuses.entries()].filter(([s]) => !['202', '503', '429', 'no answer'].includes(s));
    const table = [
      `| fault | fault lasted (s: start → cleared, restart included) | recovery (s: cleared → next 202) |`,
      `|---|---:|---:|`,
      ...faults.map(
        (f) =>
          `| ${f.name} | ${f.cleared ? ((f.cleared - f.at) / 1000).toFixed(1) : '-'} | ${f.recovered && f.cleared ? ((f.recovered - f.cleared) / 1000).toFixed(1) : 'not recovered'} |`,
      ),
    ].join('\n');
    const summary = [
      `### Soak, ${new Date().toISOString().slice(0, 16)}Z: \`npm run soak -- --minutes ${minutes} --rate ${rate}\``,
      '',
      `- events sent by answer: ${[...statuses.entries()].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
      `- acknowledged (202): ${ids.length}; in events_raw: ${found}; lost: ${ids.length - found}`,
      `- rows in events_raw for the site: ${rows}; distinct event_ids: ${totals.distinct_ids} (${rows - Number(totals.distinct_ids)} duplicate rows: at-least-once delivery; ${Number(totals.distinct_ids) - found} stored ids whose 202 never reached the client)`,
      `- batch commit of the hour ${from}: ${committed >= range.hours ? 'committed' : 'NOT committed'}; watermark ${JSON.stringify(watermark)}`,
      `- pageviews of that hour in the merged rollup (view hourly, source ${hourly.sources}): ${rollup}; distinct non-bot event_ids: ${counted}; ${rollup === counted ? 'each counted exactly once' : `MISMATCH by ${rollup - counted}`}`,
      `- answers other than 202/503/429/no answer: ${refusals.length ? refusals.map(([s, n]) => `${s}×${n}`).join(', ') : 'none'}`,
      '',
      table,
      '',
    ].join('\n');
    console.log(`\n${summary}`);
    if (!values['no-record']) await appendFile(path.join(root, 'bench/RESULTS.md'), `\n${summary}`);
    return found === ids.length && refusals.length === 0 && rollup === counted ? 0 : 1;
  } finally {
    await stopService('SIGTERM');
    await kafka?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sightline soak: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
