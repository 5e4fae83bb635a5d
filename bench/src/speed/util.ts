import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an unsorted sample; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** `uptime` as the shell prints it (load averages over 1, 5, 15 min), or os.loadavg() without it. */
export async function uptime(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('uptime');
    return stdout.trim().replace(/\s+/g, ' ');
  } catch {
    return `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port p with p and p + 1 free on 127.0.0.1 (a Kafka broker and its controller). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await portFree(port)) && (await portFree(port + 1))) return port;
  }
  throw new Error('found no two free adjacent ports on 127.0.0.1');
}

export const fmt = {
  int: (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'),
  fixed: (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a'),
  seconds: (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a'),
};

/** A Markdown table from a header row and body rows (cells already formatted). */
export function table(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const align = header.map((_, i) => (numeric[i] ? '---:' : '---'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
