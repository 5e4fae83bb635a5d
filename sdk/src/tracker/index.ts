import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { transformSync } from 'esbuild';

export interface TrackerScript {
  /** The minified tracker, served as GET /t.js (application/javascript). */
  code: string;
  /** A strong validator for If-None-Match, quoted as the ETag header wants it. */
  etag: string;
  /** Size after gzip -9, the number the 2 KB budget is about. */
  gzipBytes: number;
}

/**
 * tsc copies no .js files into dist, so dist/tracker/ has no tracker.js beside it: from there the
 * source is read where it lives, in src/tracker/ of the same package.
 */
const SOURCES = ['./tracker.js', '../../src/tracker/tracker.js'];

/** Browsers the tracker is written for; esbuild must not emit newer syntax than this. */
const TARGET = 'es2017';

let cached: TrackerScript | undefined;

/** The browser tracker, minified on first use and kept for the life of the process. */
export function trackerScript(): TrackerScript {
  cached ??= buildTrackerScript(readTrackerSource());
  return cached;
}

export function buildTrackerScript(source: string): TrackerScript {
  const { code } = transformSync(source, { loader: 'js', minify: true, target: TARGET, charset: 'utf8' });
  const hash = createHash('sha256').update(code).digest('base64url').slice(0, 22);
  return { code, etag: `"${hash}"`, gzipBytes: gzipSync(code, { level: 9 }).length };
}

function readTrackerSource(): string {
  for (const candidate of SOURCES) {
    try {
      return readFileSync(new URL(candidate, import.meta.url), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`tracker source not found (looked for ${SOURCES.join(', ')} next to ${import.meta.url})`);
}
