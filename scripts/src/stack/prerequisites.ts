import { access } from 'node:fs/promises';
import { hasCommand, runCommand } from './child-process.js';
import { PrerequisiteError } from './errors.js';

export interface Prerequisite {
  command: string;
  /** What it is, for the error message. */
  label: string;
  /** The Debian package that provides it. */
  aptPackage: string;
}

export const JAVA: Prerequisite = {
  command: 'java',
  label: 'Java 17+',
  aptPackage: 'openjdk-17-jre-headless',
};
export const MAVEN: Prerequisite = { command: 'mvn', label: 'Maven', aptPackage: 'maven' };
export const REDIS_SERVER: Prerequisite = {
  command: 'redis-server',
  label: 'Redis',
  aptPackage: 'redis-server',
};

export interface PrerequisiteContext {
  /** The service that needs them, e.g. 'Kafka'. */
  service: string;
  /** The variable that points the project at an existing service instead. */
  envVar: 'KAFKA_BROKERS' | 'REDIS_URL';
  progress: (line: string) => void;
}

/**
 * Makes sure the commands are on PATH. As root on Debian (a fresh container or CI box) they are
 * installed with apt-get, since that is what the person would do next anyway; elsewhere we
 * don't touch the system and say what to install instead.
 */
export async function ensureCommands(needed: Prerequisite[], context: PrerequisiteContext): Promise<void> {
  const missing = await findMissing(needed);
  if (missing.length === 0) return;
  const labels = missing.map((p) => `${p.label} (\`${p.command}\`)`).join(' and ');
  const packages = missing.map((p) => p.aptPackage).join(' ');
  const instead = `set ${context.envVar} to use an existing ${context.service}`;
  if (!(await canInstallWithApt())) {
    throw new PrerequisiteError(
      `The local ${context.service} needs ${labels}, not found on PATH: install it (on Debian/Ubuntu: apt-get install ${packages}) or ${instead}.`,
    );
  }
  await aptInstall(packages.split(' '), context.progress);
  if ((await findMissing(missing)).length > 0) {
    throw new PrerequisiteError(
      `apt-get installed ${packages} but ${labels} is still not on PATH: check PATH, or ${instead}.`,
    );
  }
}

/** Kafka 4 brokers refuse to run on Java older than 17; say so before the JVM does, more obscurely. */
export async function ensureJavaVersion(minimum: number): Promise<void> {
  const { code, tail } = await runCommand('java', ['-version']);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(tail);
  // Before Java 9 versions read "1.8.0_392": the major version is the second number.
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : Number.NaN;
  if (code !== 0 || Number.isNaN(major)) return; // unusual output: let the broker itself decide
  if (major < minimum) {
    throw new PrerequisiteError(
      `The local Kafka needs Java ${minimum}+ but \`java\` is Java ${major}: install a newer JRE (on Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set KAFKA_BROKERS to use an existing Kafka.`,
    );
  }
}

async function findMissing(needed: Prerequisite[]): Promise<Prerequisite[]> {
  const present = await Promise.all(needed.map((p) => hasCommand(p.command)));
  return needed.filter((_, i) => !present[i]);
}

async function canInstallWithApt(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const debian = await access('/etc/debian_version').then(
    () => true,
    () => false,
  );
  return debian && (await hasCommand('apt-get'));
}

// Kafka and Redis may be started concurrently; dpkg takes a lock, so installs run one at a time.
let aptQueue: Promise<void> = Promise.resolve();
let aptUpdated = false;

function aptInstall(packages: string[], progress: (line: string) => void): Promise<void> {
  const run = aptQueue.then(async () => {
    // Without this, packages with debconf questions (tzdata, pulled in by the JRE) wait for input.
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const onLine = (line: string) => progress(`apt-get: ${line}`);
    if (!aptUpdated) {
      progress('installing missing prerequisites with apt-get (running as root)…');
      const update = await runCommand('apt-get', ['update'], { env, onLine });
      if (update.code !== 0) throw new PrerequisiteError(aptFailure('update', packages));
      aptUpdated = true;
    }
    const install = await runCommand('apt-get', ['install', '-y', ...packages], {
      env,
      onLine,
    });
    if (install.code !== 0) throw new PrerequisiteError(aptFailure('install', packages));
  });
  // A failed install must not block the next one in the queue.
  aptQueue = run.catch(() => undefined);
  return run;
}

function aptFailure(step: string, packages: string[]): string {
  return `apt-get ${step} failed while installing ${packages.join(' ')} (its output is above): install them by hand, or set KAFKA_BROKERS / REDIS_URL to use existing services.`;
}
