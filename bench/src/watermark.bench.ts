/**
 * `npm run bench:watermark -- --minutes M --rate R`: the service (npm start's entry point, its own
 * process, the default hourly schedule) under steady traffic timed now, sampling how far the batch
 * watermark trails real time. Prints the figures and appends them to bench/RESULTS.md unless
 * --no-record.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@sightline/core';
import { minutesAndRate } from './cli-options.js';
import { root, startProcess, stopProcess } from './ingest/service-process.js';
import { postEvents, ServiceClient } from './soak/service-client.js';
import { importStack } from './speed/runtime-imports.js';
import { sleep } from './speed/util.js';

const help = `Usage: npm run bench:watermark -- [--minutes M] [--rate R] [--no-record]

Starts a local Kafka and the service (its own process, a fresh DATA_DIR, the default BATCH_SCHEDULE
'5 * * * *', Redis from REDIS_URL or 127.0.0.1:6379 with a queue of its own), sends R events/s
(default 100) timed now to POST /v1/events for M minutes (default 75: long enough to see two hourly
commits), and every 10 s reads the watermark from GET /v1/admin/batch. Reports the lag (now minus
the watermark) at each sample once the first hour has committed: its maximum, the lag just before
each commit, and when each commit landed after its hour closed. The target is at most 70 minutes.`;

interface Sample {
  at: number;
  watermark: number | null;
}

async function main(): Promise<number> {
  const options = minutesAndRate('bench:watermark', help, { minutes: 75, rate: 100 });
  if (typeof options === 'number') return options;
  const { minutes, rate } = options;

  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-watermark-'));
  const unique = `wm-${Date.now().toString(36)}`;
  const { startLocalKafka, freePort } = await importStack();
  const port = await freePort();
  const adminToken = `wm-admin-${randomUUID()}`;
  const logger = createLogger({ LOG_LEVEL: 'warn' } as never);
  console.log('Starting Kafka…');
  const kafka = await startLocalKafka({
    dataDir: path.join(dataDir, 'kafka'),
    logger,
    port: await freePort(),
    controllerPort: await freePort(),
  });
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(tmpdir(), `${unique}-service.log`);
  const serviceLog = await open(logFile, 'a');
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    KAFKA_BROKERS: kafka.brokers,
    KAFKA_EVENTS_TOPIC: `events-${unique}`,
    KAFKA_CONSUMER_GROUP: `speed-${unique}`,
    BATCH_QUEUE: `batch-${unique}`,
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    LOG_LEVEL: 'info',
    RATE_LIMIT_IP_PER_MINUTE: '0',
  };
  console.log(`Starting the service (log: ${logFile})…`);
  const child = await startProcess('scripts/src/start.ts', [], env, url, serviceLog.fd);
  const samples: Sample[] = [];
  try {
    const service = new ServiceClient(url, adminToken);
    const site = await service.createSite(`${unique}.bench.example`);
    const started = Date.now();
    const end = started + minutes * 60_000;
    const batch = Math.max(1, Math.round(rate / 10));
    const traffic = (async () => {
      let next = Date.now();
      while (Date.now() < end) {
        const ids = Array.from({ length: batch }, () => randomUUID());
        const response = await postEvents(url, site, ids, Date.now);
        await response?.body?.cancel();
        next += (1000 * batch) / rate;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
    while (Date.now() < end) {
      const response = await fetch(`${url}/v1/admin/batch`, {
        headers: { authorization: `Bearer ${adminToken}` },
      }).catch(() => undefined);
      if (response?.ok) {
        const { watermark } = (await response.json()) as { watermark: string | null };
        const sample = { at: Date.now(), watermark: watermark ? Date.parse(watermark) : null };
        const previous = samples.at(-1);
        if (sample.watermark !== previous?.watermark)
          console.log(`${new Date(sample.at).toISOString()} watermark ${watermark ?? 'none yet'}`);
        samples.push(sample);
      }
      await sleep(10_000);
    }
    await traffic;
  } finally {
    await stopProcess(child, 'SIGTERM');
    await kafka.stop();
    await serviceLog.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  const summary = watermarkSummary(samples, minutes, rate);
  console.log(`\n${summary}`);
  if (options.record) await appendFile(path.join(root, 'bench/RESULTS.md'), `\n${summary}`);
  return 0;
}

/** The lag figures of the samples taken once a watermark existed, as bench/RESULTS.md records them. */
function watermarkSummary(samples: Sample[], minutes: number, rate: number): string {
  const steady = samples.filter((s): s is { at: number; watermark: number } => s.watermark !== null);
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
  const lines = [
    `### Watermark lag, ${new Date().toISOString().slice(0, 16)}Z: \`npm run bench:watermark -- --minutes ${minutes} --rate ${rate}\``,
    '',
  ];
  if (steady.length === 0) return [...lines, '- no hour committed during the run', ''].join('\n');
  const commits = steady.filter((s, i) => i > 0 && s.watermark !== steady[i - 1]!.watermark);
  const first = steady[0]!;
  lines.push(
    `- samples every 10 s with a watermark: ${steady.length} (first commit seen at ${new Date(first.at).toISOString().slice(11, 19)}Z, ${min(first.at - first.watermark)} after its hour closed)`,
    `- maximum lag (now − watermark): ${min(Math.max(...steady.map((s) => s.at - s.watermark)))}; target at most 70 min`,
  );
  for (const commit of commits) {
    const before = steady[steady.indexOf(commit) - 1]!;
    lines.push(
      `- watermark ${new Date(commit.watermark).toISOString().slice(11, 16)}Z seen ${min(commit.at - commit.watermark)} after its hour closed; lag just before: ${min(before.at - before.watermark)}`,
    );
  }
  return [...lines, ''].join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sightline bench:watermark: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
