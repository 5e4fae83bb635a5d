import { readFileSync } from 'node:fs';

/**
 * The project's shared real-world data: /work/main/ingest/test/enrichment/ is four levels below
 * /work, and shared/ sits beside the repository root (CI lays it out the same way).
 */
const sharedData = new URL('../../../../shared/data/', import.meta.url);

export interface BotSample {
  ua: string;
}

/** family and major as ua-parser (uap-core) assigns them; major is null when it finds none. */
export interface BrowserSample {
  ua: string;
  family: string;
  major: string | null;
}

export function loadJsonl<T>(name: string): T[] {
  return readFileSync(new URL(name, sharedData), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export const loadBotSamples = (): BotSample[] => loadJsonl<BotSample>('bot-user-agents.jsonl');
export const loadBrowserSamples = (): BrowserSample[] =>
  loadJsonl<BrowserSample>('browser-user-agents.jsonl');
