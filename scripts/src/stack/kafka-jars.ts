import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@sightline/core';
import { runCommand } from './child-process.js';
import { PrerequisiteError } from './errors.js';
import { ensureCommands, MAVEN } from './prerequisites.js';

/** Must match the kafka_2.13 version in scripts/kafka/pom.xml. */
export const KAFKA_VERSION = '4.1.1';

// The same path from src/stack (tsx) and dist/stack (built): both sit two levels below scripts/.
const POM = fileURLToPath(new URL('../../kafka/pom.xml', import.meta.url));

export function defaultCacheDir(): string {
  return join(homedir(), '.cache', 'sightline');
}

export interface KafkaJarsOptions {
  cacheDir: string;
  logger: Logger;
  progress: (line: string) => void;
}

/**
 * The folder of broker jars for KAFKA_VERSION, fetched from Maven Central the first time. Maven
 * instead of the Kafka tarball: Central is the one artifact source every Java setup can reach
 * (and mirrors), and it resolves exactly the runtime jars. A stamp file marks a finished copy,
 * so an interrupted download is redone rather than half-used.
 */
export async function ensureKafkaJars(options: KafkaJarsOptions): Promise<string> {
  const home = join(options.cacheDir, `kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  const stamp = join(home, 'complete');
  if (await exists(stamp)) return libs;

  await ensureCommands([MAVEN], { service: 'Kafka', envVar: 'KAFKA_BROKERS', progress: options.progress });
  options.progress(`resolving Kafka ${KAFKA_VERSION} jars from Maven Central (once, ~45 MB)…`);
  const started = Date.now();
  // Copy into a folder of our own and move it into place when complete, so two launchers
  // resolving at the same time never see, or delete, each other's partial copy.
  const staging = join(home, `libs.partial-${process.pid}`);
  await mkdir(home, { recursive: true });
  await rm(staging, { recursive: true, force: true });
  const args = ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime'];
  const result = await runCommand('mvn', [...args, `-DoutputDirectory=${staging}`]);
  if (result.code !== 0) {
    await rm(staging, { recursive: true, force: true });
    options.logger.error({ output: result.tail }, 'mvn dependency:copy-dependencies failed');
    throw new PrerequisiteError(
      `Could not fetch the Kafka ${KAFKA_VERSION} jars with Maven (exit code ${result.code}, output logged above): check that Maven Central is reachable, or set KAFKA_BROKERS to use an existing Kafka.`,
    );
  }

  if (await exists(stamp)) {
    await rm(staging, { recursive: true, force: true }); // another launcher finished first
    return libs;
  }
  await rm(libs, { recursive: true, force: true }); // a copy left by an interrupted run
  await rename(staging, libs);
  await writeFile(stamp, `kafka ${KAFKA_VERSION} resolved ${new Date().toISOString()}\n`);
  options.progress(`Kafka jars cached in ${libs} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return libs;
}

export function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
