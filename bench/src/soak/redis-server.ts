import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { sleep } from '../speed/util.js';

const run = promisify(execFile);

/** A redis-server of the soak's own, on its own port, so restarting it touches nobody else's Redis. */
export interface SoakRedis {
  url: string;
  /** Stops the server, keeps it down for `downMs`, starts it again (empty: it persists nothing). */
  restart(downMs: number): Promise<void>;
  exists(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** `redis-cli -p port …`; undefined when the server does not answer. */
async function cli(port: number, ...args: string[]): Promise<string | undefined> {
  return run('redis-cli', ['-p', String(port), ...args], { timeout: 2000 }).then(
    ({ stdout }) => stdout.trim(),
    () => undefined,
  );
}

export async function startSoakRedis(port: number): Promise<SoakRedis> {
  let server: ChildProcess | undefined;
  const start = async () => {
    // No RDB, no AOF: a restart loses every key (BullMQ's queue, rate-limit counters, the day's
    // visitor salt), the harshest Redis restart the service has to ride out.
    server = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while ((await cli(port, 'ping')) !== 'PONG') {
      if (server.exitCode !== null || Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not start`);
      await sleep(100);
    }
  };
  const stop = async () => {
    const running = server;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs) {
      await stop();
      await sleep(downMs);
      await start();
    },
    exists: async (key) => (await cli(port, 'exists', key)) === '1',
    stop,
  };
}
