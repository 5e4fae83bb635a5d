/**
 * `npm run fuzz -- --runs N --seed S`: the long fuzz run. Starts the embedded service on a fresh
 * data directory (and a local Kafka unless KAFKA_BROKERS is set), sends N generated requests per
 * endpoint, and prints requests tried per endpoint and every failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadConfig } from '@sightline/core';
import { runCommand } from './admin-client.js';
import { startEmbedded } from './embedded.js';
import { fuzzService } from './fuzz-service.js';
import { formatFuzzReport } from './fuzz-surface.js';
import { startLocalStack } from './local-stack.js';

const help = `Usage: npm run fuzz -- [--runs N] [--seed S] [--only <text>]

Sends N generated malformed and hostile requests (default 500) to every ingest route and every
route of the OpenAPI document, from seed S (default: the time now, printed so a run can be
repeated), against a fresh embedded service. Checks: no 5xx, every 4xx a JSON error body, no answer
with another tenant's data, events_raw holding exactly the acknowledged events. --only keeps the
endpoints whose name contains the text. Starts a local Kafka unless KAFKA_BROKERS is set; uses
REDIS_URL or the Redis on 127.0.0.1:6379. Exits 1 when anything failed.`;

runCommand('fuzz', async () => {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '500' },
      seed: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
    console.error('sightline fuzz: --runs and --seed must be whole numbers (see --help)');
    return 2;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-fuzz-'));
  const unique = `fuzz-${Date.now().toString(36)}`;
  const config = loadConfig({
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal',
    KAFKA_EVENTS_TOPIC: `events-${unique}`,
    KAFKA_CONSUMER_GROUP: `speed-${unique}`,
    BATCH_QUEUE: `batch-${unique}`,
    // Every request comes from one address and one key; the limiters are not what is being fuzzed.
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    RATE_LIMIT_KEY_PER_MINUTE: '0',
  });
  const logger = createLogger(config, 'fuzz');
  const stack = await startLocalStack(config, logger, { progress: (line) => console.error(line) });
  const service = await startEmbedded(stack.config, logger);
  try {
    console.log(`Fuzzing with --runs ${runs} --seed ${seed}…`);
    const started = Date.now();
    const only = values.only;
    const outcome = await fuzzService(service, {
      runs,
      seed,
      ...(only ? { only: (endpoint: string) => endpoint.includes(only) } : {}),
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(formatFuzzReport(outcome));
    const tried = outcome.endpoints.reduce((sum, e) => sum + e.tried, 0);
    const failures = outcome.endpoints.flatMap((e) => e.failures.map((f) => `${e.endpoint}: ${f}`));
    console.log(
      `\n${tried} requests to ${outcome.endpoints.length} endpoints in ${seconds.toFixed(0)} s; ${failures.length} failures; ` +
        `${outcome.acknowledged} events acknowledged, ${outcome.missingRows} missing from events_raw, ` +
        `${outcome.unacknowledgedRows} stored without acknowledgement, ${outcome.deadLetters} dead letters; ` +
        `healthy after: ${outcome.healthyAfter}`,
    );
    for (const f of failures) console.log(`FAIL ${f}`);
    const ok =
      failures.length === 0 &&
      outcome.missingRows === 0 &&
      outcome.unacknowledgedRows === 0 &&
      outcome.deadLetters === 0 &&
      outcome.healthyAfter;
    return ok ? 0 : 1;
  } finally {
    await service.close();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
