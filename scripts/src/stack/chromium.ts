import { access, constants } from 'node:fs/promises';
import { runCommand } from './child-process.js';
import { PrerequisiteError } from './errors.js';

/** Where Debian's `chromium` package puts its launcher (a wrapper script around the real binary). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The path of a Chromium for browser tests (the tracker runs in it through playwright-core).
 * Playwright's own browser downloads are not used: they need a download host that CI boxes and
 * containers often cannot reach, while Debian's package comes from the mirror apt already uses.
 * As root on Debian a missing Chromium is installed with apt-get; elsewhere the error says how.
 */
export async function ensureChromium(progress: (line: string) => void = () => undefined): Promise<string> {
  const found = await findChromium();
  if (found) return found;
  if (!(await canInstallWithApt())) {
    throw new PrerequisiteError(
      'The browser tests need Chromium (`/usr/bin/chromium`), not found: install it (on Debian/Ubuntu: apt-get install chromium).',
    );
  }
  progress('installing Chromium with apt-get (running as root)…');
  // Without this, a package with debconf questions pulled in as a dependency waits for input.
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const onLine = (line: string) => progress(`apt-get: ${line}`);
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const { code } = await runCommand('apt-get', args, { env, onLine });
    if (code !== 0) {
      throw new PrerequisiteError(
        `apt-get ${args[0]} failed while installing chromium (its output is above): install it by hand.`,
      );
    }
  }
  const installed = await findChromium();
  if (!installed) {
    throw new PrerequisiteError(`apt-get installed chromium but none of ${CANDIDATES.join(', ')} exists.`);
  }
  return installed;
}

/**
 * Flags that let Chromium run headless as root in a container: no sandbox (it refuses to start
 * as root with one), no GPU, and none of the background traffic (updates, sync, QUIC probes)
 * that would wait on a network the tests don't have. Add a fresh `--user-data-dir` per launch.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function findChromium(): Promise<string | undefined> {
  for (const path of CANDIDATES) {
    if (await isExecutable(path)) return path;
  }
  return undefined;
}

async function canInstallWithApt(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return (await isExecutable('/usr/bin/apt-get')) && (await exists('/etc/debian_version'));
}

function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
