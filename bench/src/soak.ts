/**
 * `npm run soak -- --minutes M --rate R`: the service as its own process under steady traffic for
 * M minutes, with faults injected on a schedule (see soak/run.ts). Prints the summary and appends
 * it to bench/RESULTS.md; exits 1 if an acknowledged event was lost or counted twice, an answer other
 * than 503/429 refused events, or a fault was not recovered from.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { minutesAndRate } from './cli-options.js';
import { root } from './ingest/service-process.js';
import { runSoak, soakSummary } from './soak/run.js';

const help = `Usage: npm run soak -- [--minutes M] [--rate R] [--no-record]

Starts a local Kafka, a redis-server of its own and the service (npm start's entry point, its own
process, a fresh DATA_DIR), sends R events/s (default 100) to POST /v1/events for M minutes (default
3), in requests of R/50 events (10 to 100), and injects at 1/5, 2/5, 3/5 and 4/5 of the run: Kafka
stopped for 30 s (the spool, capped at 256 kB, fills and the service answers 503), Redis stopped for
5 s and restarted empty, the service killed with SIGKILL and restarted, and 500 malformed messages
produced straight to the events topic. After each fault it measures the time until the next 202
(ingest) and until a marker event sent then shows in a second site's timeseries (speed layer).
Events are timed in the hour that ended an hour ago (late events), so that hour can be committed:
at the end the batch layer recomputes it (as npm run reprocess does) and, through POST /v1/sql, the
soak checks every acknowledged event is in events_raw and the committed hour counts each stored
event exactly once. Prints a summary and appends it to bench/RESULTS.md unless --no-record.`;

async function main(): Promise<number> {
  const options = minutesAndRate('soak', help, { minutes: 3, rate: 100 });
  if (typeof options === 'number') return options;
  const { minutes, rate } = options;
  const result = await runSoak({
    minutes,
    rate,
    batch: Math.min(100, Math.max(10, Math.round(rate / 50))),
    kafkaDownSeconds: 30,
    redisDownSeconds: 5,
    drainSeconds: 900,
    log: (line) => console.log(line),
  });
  const summary = soakSummary(result);
  console.log(`\n${summary}`);
  if (options.record) await appendFile(path.join(root, 'bench/RESULTS.md'), `\n${summary}`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sightline soak: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
