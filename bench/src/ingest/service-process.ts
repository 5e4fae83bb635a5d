import { type ChildProcess, fork, spawn } from 'node:child_process';
import path from 'node:path';
import { sleep } from '../speed/util.js';

export const root = path.resolve(import.meta.dirname, '../../..');

/**
 * The V8 flag `npm start` and `npm run role` give the service (scripts/bin/start.mjs says why): every
 * process started here runs with it, the bare route too, so both sides of the ingest comparison run
 * with the same heap.
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
  return startReady('scripts/src/start.ts', [], env, port);
}

/**
 * `npm run role -- --role ingest`: the ingest role alone in its own process, as one container of the
 * cluster mode, against the Kafka in env.KAFKA_BROKERS. The site must already exist in its DATA_DIR.
 */
export function startIngestRole(env: Record<string, string>, port: number): Promise<RunningProcess> {
  return startReady('scripts/src/role.ts', ['--role', 'ingest'], env, port);
}

/** A script on `port`, its log lines on this process's stderr. */
async function startReady(
  script: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<RunningProcess> {
  const url = `http://127.0.0.1:${port}`;
  const child = await startProcess(script, args, { ...env, PORT: String(port) }, url, 2);
  return { url, stop: () => stop(child) };
}

/** Polls `probe` every `everyMs` until it answers true or `ms` pass; the time it did, or undefined. */
export async function until(
  probe: () => Promise<boolean>,
  ms: number,
  everyMs = 250,
): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return Date.now();
    await sleep(everyMs);
  }
  return undefined;
}

/**
 * A script of the repository (`scripts/src/start.ts`, `scripts/src/role.ts`) as its own process,
 * resolved once its /ready answers 200. Its output goes to `output` (a file descriptor).
 */
export async function startProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  url: string,
  output: number,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--conditions=development', '--import', 'tsx', `${root}/${script}`, ...args],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', output, output] },
  );
  const ready = await until(async () => {
    if (child.exitCode !== null) throw new Error('exited');
    return (await fetch(`${url}/ready`)).ok;
  }, 180_000);
  if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`${script} was not ready within 180 s`);
  }
  return child;
}

/** Sends `signal` and waits for the exit; the exit code (null when killed by the signal). */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  return exited;
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
