import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@sightline/core';
import { rotateLog, runCommand, spawnService, stopProcess } from './child-process.js';
import { PortInUseError } from './errors.js';
import { log4jYaml, serverProperties } from './kafka-config.js';
import { defaultCacheDir, ensureKafkaJars, exists, KAFKA_VERSION } from './kafka-jars.js';
import { stopLeftoverBroker, writePidFile } from './kafka-leftover.js';
import { waitForKafka } from './kafka-ready.js';
import { isPortInUse } from './ports.js';
import { ensureCommands, ensureJavaVersion, JAVA } from './prerequisites.js';

export interface LocalKafka {
  /** Bootstrap address for kafkajs, e.g. "127.0.0.1:9092". */
  brokers: string;
  /** The broker's process id, for diagnostics. */
  pid: number;
  /** The broker's own log (warnings and errors), for pointing people at when something fails. */
  logFile: string;
  /** Stops the broker cleanly; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** The embedded mode's data folder; the broker keeps everything under `<dataDir>/kafka`. */
  dataDir: string;
  port?: number;
  controllerPort?: number;
  /** Where the broker jars are cached across projects and runs; default ~/.cache/sightline. */
  cacheDir?: string;
  logger: Logger;
  /** Human-readable steps of a start (jar download, formatting, ready time); default logger.info. */
  progress?: (line: string) => void;
}

const READY_TIMEOUT_MS = 60_000;
// A clean shutdown flushes partitions and writes a checkpoint, so the next start skips log
// recovery; that can take a while with many partitions, hence the generous grace.
const STOP_GRACE_MS = 20_000;
// Plenty for a local broker and keeps it a good neighbour on a small machine.
const HEAP = '-Xmx512m';

/** Starts a single-node KRaft Kafka as a child process and resolves once it answers. */
export async function startLocalKafka(options: StartKafkaOptions): Promise<LocalKafka> {
  const { logger } = options;
  const port = options.port ?? 9092;
  const controllerPort = options.controllerPort ?? 9093;
  const progress = options.progress ?? ((line: string) => logger.info(line));
  const brokers = `127.0.0.1:${port}`;

  await ensureCommands([JAVA], { service: 'Kafka', envVar: 'KAFKA_BROKERS', progress });
  await ensureJavaVersion(17);
  // Absolute paths: Maven resolves a relative output folder against the pom's folder, not ours.
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const libs = await ensureKafkaJars({ cacheDir, logger, progress });
  const classpath = join(libs, '*');

  const home = resolve(options.dataDir, 'kafka');
  const logDir = join(home, 'data');
  const propertiesFile = join(home, 'server.properties');
  const log4jFile = join(home, 'log4j2.yaml');
  const logFile = join(home, 'broker.log');
  const pidFile = join(home, 'broker.pid');
  await mkdir(logDir, { recursive: true });
  await stopLeftoverBroker(pidFile, propertiesFile, logger);
  await ensurePortsFree(port, controllerPort);

  // Rewritten on every start so a changed port takes effect; the cluster id lives in the storage.
  await writeFile(propertiesFile, serverProperties({ port, controllerPort, logDir }));
  await writeFile(log4jFile, log4jYaml(logFile));
  await rotateLog(logFile);
  const jvm = [HEAP, `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', classpath];

  if (!(await exists(join(logDir, 'meta.properties')))) {
    progress('formatting Kafka storage…');
    await formatStorage(jvm, propertiesFile);
  }

  progress(`starting Kafka ${KAFKA_VERSION} on ${brokers}…`);
  const started = Date.now();
  const broker = await spawnService('java', [...jvm, 'kafka.Kafka', propertiesFile], logFile);
  // spawnService resolved on 'spawn', so the process exists and has a pid.
  const pid = broker.pid!;
  await writePidFile(pidFile, pid);
  try {
    await waitForKafka(brokers, broker, logFile, READY_TIMEOUT_MS);
  } catch (error) {
    await stopProcess(broker, 5000);
    await rm(pidFile, { force: true });
    throw error;
  }
  progress(`Kafka ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  logger.debug({ brokers, brokerPid: pid, logFile }, 'local Kafka started');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await stopProcess(broker, STOP_GRACE_MS);
      await rm(pidFile, { force: true });
      logger.debug({ brokers }, 'local Kafka stopped');
    })();
    return stopping;
  };
  return { brokers, pid, logFile, stop };
}

async function ensurePortsFree(port: number, controllerPort: number): Promise<void> {
  for (const [which, p] of [
    ['Kafka', port],
    ['Kafka controller', controllerPort],
  ] as const) {
    if (await isPortInUse(p)) {
      throw new PortInUseError(
        p,
        `Port ${p} on 127.0.0.1 (${which}) is already in use, so the local Kafka can't start there: stop whatever listens on it, or if it is a Kafka you want to use, set KAFKA_BROKERS.`,
      );
    }
  }
}

async function formatStorage(jvm: string[], propertiesFile: string): Promise<void> {
  // Static quorum (controller.quorum.voters), so no --standalone: the two are mutually exclusive.
  const format = await runCommand('java', [
    ...jvm,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId(),
    '-c',
    propertiesFile,
  ]);
  if (format.code !== 0) {
    throw new Error(`kafka-storage format failed (exit code ${format.code}):\n${format.tail}`);
  }
}

/**
 * A cluster id as `kafka-storage random-uuid` makes it: a random (v4) UUID in unpadded base64url,
 * never starting with '-' so it can't be read as a command-line flag. Made here because a JVM
 * start just for this costs seconds on a small machine.
 */
function clusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
