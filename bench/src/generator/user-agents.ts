import { readFileSync } from 'node:fs';

/**
 * The shared real-world data (`shared/data` next to the repository root). The path has the same
 * depth from bench/src/generator and bench/dist/generator, so it resolves from either.
 */
export const defaultDataDir = new URL('../../../../shared/data/', import.meta.url);

export interface UserAgents {
  browsers: { ua: string; family: string }[];
  bots: string[];
}

/** Reads the browser and bot user agents (one JSON object a line) from `dataDir`. */
export function loadUserAgents(dataDir: string | URL = defaultDataDir): UserAgents {
  const browsers = readJsonLines(dataDir, 'browser-user-agents.jsonl').map((row, index) => {
    if (typeof row.ua !== 'string' || typeof row.family !== 'string') {
      throw new Error(`browser-user-agents.jsonl line ${index + 1}: expected {ua, family}`);
    }
    return { ua: row.ua, family: row.family };
  });
  const bots = readJsonLines(dataDir, 'bot-user-agents.jsonl').map((row, index) => {
    if (typeof row.ua !== 'string') throw new Error(`bot-user-agents.jsonl line ${index + 1}: expected {ua}`);
    return row.ua;
  });
  if (browsers.length === 0 || bots.length === 0)
    throw new Error(`no user agents found in ${String(dataDir)}`);
  return { browsers, bots };
}

function readJsonLines(dataDir: string | URL, name: string): Record<string, unknown>[] {
  const directory = typeof dataDir === 'string' && !dataDir.endsWith('/') ? `${dataDir}/` : dataDir;
  const file = typeof directory === 'string' ? `${directory}${name}` : new URL(name, directory);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
