/**
 * `npm test`: starts the real local stack once (a single-node Kafka on free ports in a temporary
 * folder, and Redis), runs every workspace's tests against it with node's test runner, and stops
 * the stack. Each test names its own topic, consumer group and data directory.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadConfig } from '@sightline/core';
import { startLocalStack } from './local-stack.js';
import { freePort, PrerequisiteError } from './stack/index.js';

const help = `Usage: npm test [-- [--concurrency N] [file-filter …]]

Runs every workspace's test/**/*.test.ts against a real local Kafka and Redis (started and stopped
here unless KAFKA_BROKERS / REDIS_URL are set). A filter keeps the test files whose path contains it.`;

const root = path.resolve(import.meta.dirname, '../..');

async function testFiles(filters: string[]): Promise<string[]> {
  const { workspaces } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  const files: string[] = [];
  for (const workspace of workspaces) {
    const dir = path.join(root, workspace, 'test');
    const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const entry of entries) {
      if (entry.endsWith('.test.ts')) files.push(path.join(dir, entry));
    }
  }
  const relative = files.map((f) => path.relative(root, f)).sort();
  return filters.length ? relative.filter((f) => filters.some((filter) => f.includes(filter))) : relative;
}

function runNodeTests(files: string[], concurrency: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        '--test',
        `--test-concurrency=${concurrency}`,
        '--test-timeout=300000',
        ...files,
      ],
      { cwd: root, stdio: 'inherit', env },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, concurrency: { type: 'string', default: '2' } },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const files = await testFiles(positionals);
  if (files.length === 0) {
    console.error(`no test file matches ${positionals.join(', ')}`);
    return 1;
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-test-stack-'));
  const config = loadConfig({
    ...process.env,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config, 'test-stack');
  const started = Date.now();
  const stack = await startLocalStack(config, logger, {
    kafkaPort: await freePort(),
    controllerPort: await freePort(),
    progress: (line) => console.log(`[stack] ${line}`),
  });
  console.log(
    `[stack] Kafka ${stack.config.KAFKA_BROKERS}, Redis ${stack.config.REDIS_URL} (${Date.now() - started} ms)`,
  );
  const env = {
    ...process.env,
    KAFKA_BROKERS: stack.config.KAFKA_BROKERS,
    REDIS_URL: stack.config.REDIS_URL,
  };
  // Fault tests stop and restart brokers of their own; run alongside the rest on two cores, a
  // broker's restart can take a minute, so they run last and one at a time.
  const faults = files.filter((f) => path.basename(f).startsWith('fault-'));
  const rest = files.filter((f) => !faults.includes(f));
  try {
    let code = 0;
    for (const [group, concurrency] of [
      [rest, values.concurrency],
      [faults, '1'],
    ] as const) {
      if (group.length === 0) continue;
      code ||= await runNodeTests(group, concurrency, env);
    }
    return code;
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof PrerequisiteError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  },
);
