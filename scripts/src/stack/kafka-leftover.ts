import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from '@sightline/core';
import { PrerequisiteError } from './errors.js';
import { sleep } from './ports.js';

/** Who started the broker that runs from a data directory, so a later run can tell it apart. */
interface PidRecord {
  broker: number;
  owner: number;
}

export async function writePidFile(pidFile: string, broker: number): Promise<void> {
  const record: PidRecord = { broker, owner: process.pid };
  await writeFile(pidFile, `${JSON.stringify(record)}\n`);
}

/**
 * The broker runs in its own process group so Ctrl-C reaches only the launcher; the flip side
 * is that it outlives a launcher that is killed outright (SIGKILL, a closed terminal). Such a
 * broker would hold the ports and the storage lock, so the next start stops it, but only when
 * it is provably ours: its command line names this data directory's server.properties and the
 * process that started it is gone. A broker whose owner is alive is someone else's, and left be.
 */
export async function stopLeftoverBroker(
  pidFile: string,
  propertiesFile: string,
  logger: Logger,
): Promise<void> {
  const record = await readPidFile(pidFile);
  if (!record) return;
  if (!isAlive(record.broker) || !(await commandLineIncludes(record.broker, propertiesFile))) {
    await rm(pidFile, { force: true });
    return;
  }
  if (isAlive(record.owner)) {
    throw new PrerequisiteError(
      `Process ${record.owner} already runs a local Kafka (pid ${record.broker}) from ${propertiesFile}: stop it, use another data directory, or set KAFKA_BROKERS to share that Kafka.`,
    );
  }
  logger.warn({ brokerPid: record.broker }, 'stopping a local Kafka left running by an earlier run');
  await killAndWait(record.broker, 20_000);
  await rm(pidFile, { force: true });
}

async function readPidFile(pidFile: string): Promise<PidRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(pidFile, 'utf8')) as Partial<PidRecord>;
    if (typeof record.broker === 'number' && typeof record.owner === 'number') {
      return { broker: record.broker, owner: record.owner };
    }
  } catch {
    // Missing or unreadable: nothing to reclaim.
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux only; elsewhere we can't prove the process is ours, so it is never touched. */
async function commandLineIncludes(pid: number, text: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(text);
  } catch {
    return false;
  }
}

async function killAndWait(pid: number, graceMs: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) {
      process.kill(pid, 'SIGKILL');
      await sleep(200);
      return;
    }
    await sleep(200);
  }
}
