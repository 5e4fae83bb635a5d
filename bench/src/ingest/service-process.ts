import { type ChildProcess, fork, spawn } from 'node:child_process';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../../..');

/**
 * The V8 flag `npm start` and `npm run role` give the service (scripts/bin/start.mjs says why); the
 * bare route gets it too, so both sides of the comparison run with the same heap.
 */
const nodeFlags = ['--max-semi-space-size=64'];

export interface RunningProcess {
  url: string;
  stop(): Promise<void>;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** `npm start` as its own process (every role, chDB's Kafka consumer, its own local Kafka), ready when /ready says so. */
export function startService(env: Record<string, string>, port: number): Promise<RunningProcess> {
  return startReady(['scripts/src/start.ts'], env, port);
}

/**
 * `npm run role -- --role ingest`: the ingest role alone in its own process, as one container of the
 * cluster mode, against the Kafka in env.KAFKA_BROKERS. The site must already exist in its DATA_DIR.
 */
export function startIngestRole(env: Record<string, string>, port: number): Promise<RunningProcess> {
  return startReady(['scripts/src/role.ts', '--role', 'ingest'], env, port);
}

async function startReady(
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<RunningProcess> {
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--conditions=development', '--import', 'tsx', ...args],
    {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${args[0]} exited with ${child.exitCode} before it was ready`);
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, stop: () => stop(child) };
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop(child);
  throw new Error(`${args[0]} was not ready within 180 s`);
}

export async function startBareServer(): Promise<RunningProcess> {
  const child = fork(path.join(import.meta.dirname, 'bare-server.ts'), [], {
    execArgv: [...nodeFlags, '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return { url, stop: () => stop(child) };
}
