import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from '@sightline/core';
import {
  describeExit,
  hasExited,
  rotateLog,
  spawnService,
  stopProcess,
  tailOfFile,
} from './child-process.js';
import { PortInUseError, PrerequisiteError } from './errors.js';
import { sleep } from './ports.js';
import { ensureCommands, REDIS_SERVER } from './prerequisites.js';

export interface LocalRedis {
  url: string;
  /** Stops the redis-server we started; a no-op when an existing one was found. */
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** The embedded mode's data folder; a Redis we start keeps its AOF under `<dataDir>/redis`. */
  dataDir: string;
  port?: number;
  logger: Logger;
  progress?: (line: string) => void;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 10_000;

/**
 * Uses the Redis already answering on 127.0.0.1:port (the usual case on a developer machine),
 * or starts a redis-server child that persists BullMQ's queues in the data folder.
 */
export async function ensureLocalRedis(options: EnsureRedisOptions): Promise<LocalRedis> {
  const { logger } = options;
  const port = options.port ?? 6379;
  const progress = options.progress ?? ((line: string) => logger.info(line));
  const url = `redis://127.0.0.1:${port}`;

  const existing = await ping(port);
  if (existing === 'pong' || existing === 'loading') {
    logger.debug({ url }, 'using the Redis already running');
    return { url, stop: async () => {} };
  }
  if (existing === 'auth') {
    throw new PrerequisiteError(
      `The Redis on 127.0.0.1:${port} requires a password: set REDIS_URL (redis://:password@127.0.0.1:${port}) to use it.`,
    );
  }
  if (existing === 'other') {
    throw new PortInUseError(
      port,
      `Port ${port} on 127.0.0.1 is in use by something that does not answer like Redis: free it, or set REDIS_URL to an existing Redis.`,
    );
  }

  await ensureCommands([REDIS_SERVER], { service: 'Redis', envVar: 'REDIS_URL', progress });
  const dir = resolve(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const logFile = resolve(dir, 'redis.log');
  progress(`starting Redis on 127.0.0.1:${port}…`);
  const started = Date.now();
  // Append-only file, no RDB snapshots: every queued job survives a crash, and nothing else is
  // written. With no --logfile, redis logs to stdout, which spawnService sends to logFile.
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--save',
    '',
  ];
  await rotateLog(logFile);
  const server = await spawnService('redis-server', args, logFile);
  try {
    await waitForPong(port, () => hasExited(server), READY_TIMEOUT_MS);
  } catch (error) {
    await stopProcess(server, 2000);
    const reason = hasExited(server) ? `redis-server ${describeExit(server)}` : (error as Error).message;
    throw new Error(`${reason}; last lines of ${logFile}:\n${await tailOfFile(logFile)}`);
  }
  progress(`Redis ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopProcess(server, STOP_GRACE_MS);
    return stopping;
  };
  return { url, stop };
}

type PingAnswer = 'pong' | 'loading' | 'auth' | 'other' | 'none';

/** One inline PING over a raw socket: enough to tell Redis, a locked Redis, or something else. */
export function ping(port: number, timeoutMs = 1000): Promise<PingAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (answer: PingAnswer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done('other'));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      const reply = data.toString('utf8');
      if (reply.startsWith('+PONG')) done('pong');
      else if (reply.startsWith('-LOADING')) done('loading');
      else if (reply.startsWith('-NOAUTH')) done('auth');
      else done('other');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? 'none' : 'other'),
    );
    // Something that hangs up without a word (Postgres does, on a line it can't parse).
    socket.once('close', () => done('other'));
  });
}

async function waitForPong(port: number, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('redis-server exited during startup');
    if ((await ping(port)) === 'pong') return;
    await sleep(100);
  }
  throw new Error(`Redis did not answer PING on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}
