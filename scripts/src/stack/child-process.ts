import { type ChildProcess, spawn } from 'node:child_process';
import { open, readFile, rename } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface RunResult {
  code: number | null;
  /** The last lines of stdout and stderr together, for error messages. */
  tail: string;
}

export interface RunOptions {
  /** Called with every output line as it arrives (progress of long installs). */
  onLine?: (line: string) => void;
  /** Extra variables for the child, on top of the inherited environment. */
  env?: Record<string, string>;
}

const TAIL_LINES = 20;

/** Runs a command to completion; rejects only when it cannot be started at all. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Spreading process.env only forwards the parent's environment (PATH, JAVA_HOME, proxies)
      // to the child; nothing here is configuration this module reads.
      env: options.env ? { ...process.env, ...options.env } : undefined,
    });
    const tail: string[] = [];
    const collect = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(line);
    };
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', collect);
    }
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, tail: tail.join('\n') }));
  });
}

/** Whether an executable is on PATH, asked of the shell so PATH handling matches spawn's. */
export async function hasCommand(name: string): Promise<boolean> {
  const { code } = await runCommand('/bin/sh', ['-c', `command -v ${name}`]);
  return code === 0;
}

/**
 * Starts a long-running service with its stdout and stderr going to `logFile`. Writing to a
 * file rather than a pipe means the child never blocks on a full pipe we forgot to drain. It gets
 * its own process group so a Ctrl-C in the terminal reaches only our process, which can then
 * flush its producers before stopping the service in order.
 */
export async function spawnService(command: string, args: string[], logFile: string): Promise<ChildProcess> {
  const log = await open(logFile, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', log.fd, log.fd], detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // If our process exits without calling stop() (an uncaught error), ask the service to shut
    // down too instead of leaving it holding the port; SIGTERM lets it close its files cleanly.
    const onExit = () => child.kill('SIGTERM');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the child has exited (immediately if it already has). */
export function whenExited(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`; resolves once it is gone. */
export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = whenExited(child);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), gaveUp]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Moves the previous run's log aside: a startup failure's quoted tail is then about this run,
 * while the last run's log survives one restart for a crash that is only noticed then.
 */
export async function rotateLog(logFile: string): Promise<void> {
  await rename(logFile, `${logFile}.1`).catch(() => undefined);
}

/** The last lines of a log file, for quoting in an error message. */
export async function tailOfFile(path: string, lines = TAIL_LINES): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(the log is empty)';
  } catch {
    return '(no log written)';
  }
}

export function describeExit(child: ChildProcess): string {
  return child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
}
