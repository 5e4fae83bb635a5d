import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClickHouse, loadConfig } from '@sightline/core';
import { dailyShare, generateTraffic } from '../generator/index.js';
import { importIngest } from './runtime-imports.js';
import { root } from '../ingest/service-process.js';

const N = 300_000;
const dir = await mkdtemp(path.join(tmpdir(), 'speed-probe-'));
const file = path.join(dir, 'events.jsonl');
const out = createWriteStream(file);
const { createEnricher, toStoredEvent } = await importIngest();
const enricher = createEnricher();
const salt = randomBytes(32);
const end = Date.now(); const start = end - 3600_000;
let n = 0;
for (const r of generateTraffic({ seed: 7, sites: Array.from({ length: 200 }, (_, i) => `site-${i}`), start, durationMs: 3600_000, eventsPerSecond: (1_000_000 / 3600 / dailyShare(end)) })) {
  const ts = typeof r.body.timestamp === 'number' ? r.body.timestamp : r.sentAt;
  out.write(`${JSON.stringify(toStoredEvent(r.body, Math.min(ts, r.sentAt), { ip: r.ip, userAgent: r.userAgent, country: r.country, acceptLanguage: 'en', receivedAt: r.sentAt }, salt, enricher))}\n`);
  if (++n >= N) break;
}
await new Promise((r) => out.end(r));
const ch = createClickHouse(loadConfig({ DATA_DIR: path.join(dir, 'db') }));
const sql = async (f: string) => {
  for (const stmt of (await readFile(path.join(root, 'sql', f), 'utf8')).replace(/^--.*$/gm, '').split(';').map((s) => s.trim()).filter(Boolean)) await ch.command({ query: stmt });
};
await sql('0001_events_raw.sql');
const q = await readFile(path.join(root, 'sql/0003_kafka_stream.sql'), 'utf8');
const structure = q.slice(q.indexOf('CREATE TABLE IF NOT EXISTS events_queue (') + 'CREATE TABLE IF NOT EXISTS events_queue ('.length, q.indexOf(') ENGINE = Kafka')).replace(/\s+/g, ' ').trim();
await ch.command({ query: `CREATE TABLE sink_null (${structure}) ENGINE = Null` });
const settings = { max_threads: '1', max_insert_threads: '1', max_block_size: '65536', min_insert_block_size_rows: '65536', input_format_parallel_parsing: '0' } as const;
const src = `file('${file}', JSONEachRow, '${structure.replace(/'/g, "\\'")}')`;
const time = async (label: string, query: string) => {
  const t = performance.now();
  await ch.command({ query, clickhouse_settings: settings });
  const ms = performance.now() - t;
  console.log(`${label}: ${ms.toFixed(0)} ms, ${Math.round(N / (ms / 1000))} events/s (one thread)`);
};
await time('parse JSON only (Null)', `INSERT INTO sink_null SELECT * FROM ${src}`);
await time('parse + events_raw', `INSERT INTO events_raw SELECT *, 0, 0, now64(3) FROM ${src}`);
await ch.command({ query: 'TRUNCATE TABLE events_raw' });
await sql('0002_speed_hourly.sql'); await sql('0005_speed_minute.sql');
await time('parse + events_raw + hourly + minute', `INSERT INTO events_raw SELECT *, 0, 0, now64(3) FROM ${src}`);
await ch.command({ query: 'TRUNCATE TABLE events_raw' });
await sql('0006_speed_dimensions.sql');
await time('parse + events_raw + hourly + minute + dimensions', `INSERT INTO events_raw SELECT *, 0, 0, now64(3) FROM ${src}`);
await ch.command({ query: 'DROP TABLE mv_speed_hourly' }); await ch.command({ query: 'DROP TABLE mv_speed_minute' });
await ch.command({ query: 'TRUNCATE TABLE events_raw' });
await time('parse + events_raw + dimensions only', `INSERT INTO events_raw SELECT *, 0, 0, now64(3) FROM ${src}`);
process.exit(0);
