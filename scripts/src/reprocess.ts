/**
 * `npm run reprocess -- --from <time> --to <time> [--sites a,b]`: recomputes the batch layer's hours of a range
 * through the running service (its queue), and shows their progress. Interrupting this command
 * stops only the progress display: the queued hours are in Redis and the service finishes them,
 * across its own restarts too. Running it again for the same range is safe (idempotent).
 *
 * `--rebuild-raw` rebuilds events_raw itself, day by day, from the stored raw payloads with the
 * service's current enrichment code (no Kafka involved); each day is swapped in whole.
 */
import { parseArgs } from 'node:util';
import { adminClient, runCommand } from './admin-client.js';

const help = `Usage: npm run reprocess -- --from <time> --to <time> [--sites <id,id,…>] [--rebuild-raw] [--url <service>] [--token <admin token>]

Recomputes every hour of [from, to) from events_raw with the current batch logic and commits
each hour atomically. Times are ISO 8601 (2026-11-20T00:00:00Z) or dates (2026-11-20).

  --sites   only these sites (comma-separated site ids); the other sites keep their numbers
  --rebuild-raw  instead: rebuild events_raw for the days of [from, to) from the raw payloads with
            the current enrichment (for enrichment bugs), one day at a time, each swapped in
            atomically; days that can still receive late events (72 h) are refused. Reprocess
            the range afterwards for the batch numbers.

  --url     the running service (default http://127.0.0.1:$PORT, PORT default 8080)
  --token   the admin token (default $ADMIN_TOKEN, else DATA_DIR/admin-token)`;

function bar(done: number, total: number, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

type Admin = Awaited<ReturnType<typeof adminClient>>;

/** The days of [from, to) one at a time through POST /v1/admin/rebuild-raw, with a bar of days. */
async function rebuildRaw(admin: Admin, from: string, to: string): Promise<number> {
  const DAY = 86_400_000;
  const start = Math.floor(Date.parse(from) / DAY) * DAY;
  const end = Date.parse(to);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
    console.error('sightline reprocess: --from and --to must be times, --to after --from (see --help)');
    return 2;
  }
  const days: string[] = [];
  for (let d = start; d < end; d += DAY) days.push(new Date(d).toISOString().slice(0, 10));
  console.log(
    `Rebuilding events_raw for ${days.length} days (${days[0]} to ${days.at(-1)}) from the raw payloads…`,
  );
  const began = Date.now();
  const totals = { rows: 0, changed: 0, kept: 0 };
  for (const [i, day] of days.entries()) {
    process.stdout.write(`\r${bar(i, days.length)} ${i}/${days.length} days · ${day}…   `);
    const answer = await admin.post('/v1/admin/rebuild-raw', { day });
    if (answer.status !== 200) {
      console.error(`\nsightline reprocess: ${day}: ${answer.status} ${answer.body.error?.message ?? ''}`);
      return 1;
    }
    totals.rows += Number(answer.body.rows);
    totals.changed += Number(answer.body.changed);
    totals.kept += Number(answer.body.kept);
  }
  const seconds = (Date.now() - began) / 1000;
  process.stdout.write(`\r${bar(days.length, days.length)} ${days.length}/${days.length} days\n`);
  console.log(
    `Done: ${days.length} days, ${totals.rows} events rebuilt in ${seconds.toFixed(1)} s (${totals.changed} changed, ${totals.kept} without a payload kept as they were). Reprocess the range for the batch numbers.`,
  );
  return 0;
}

runCommand('reprocess', async () => {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      sites: { type: 'string' },
      'rebuild-raw': { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (!values.from || !values.to) {
    console.error('sightline reprocess: --from and --to are required (see --help)');
    return 2;
  }
  const admin = await adminClient(values);
  if (values['rebuild-raw']) return rebuildRaw(admin, values.from, values.to);
  const since = Date.now();
  const sites = values.sites
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (values.sites !== undefined && !sites?.length) {
    console.error('sightline reprocess: --sites needs at least one site id (see --help)');
    return 2;
  }
  const started = await admin.post('/v1/admin/reprocess', {
    from: values.from,
    to: values.to,
    ...(sites && { sites }),
  });
  if (started.status !== 202) {
    console.error(`sightline reprocess: ${started.status} ${started.body.error?.message ?? ''}`);
    return 1;
  }
  const hours = Number(started.body.hours);
  console.log(
    `Reprocessing ${hours} hours (${values.from} to ${values.to}, ${sites ? `sites ${sites.join(', ')}` : 'every site'})…`,
  );
  for (;;) {
    const range = new URLSearchParams({
      since: String(since),
      from: String(started.body.from),
      to: String(started.body.to),
    });
    const status = (await admin.get(`/v1/admin/batch?${range}`)).body as unknown as {
      runs_since: { committed: number; failed: number; input_rows: number };
    };
    const { committed, failed, input_rows } = status.runs_since;
    const elapsed = (Date.now() - since) / 1000;
    const done = Math.min(committed, hours);
    const rate = elapsed > 0 ? input_rows / elapsed : 0;
    const eta = done > 0 ? ((hours - done) * elapsed) / done : Number.NaN;
    process.stdout.write(
      `\r${bar(done, hours)} ${done}/${hours} hours · ${Math.round(rate)} events/s · ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)} s` : '…'}${failed ? ` · ${failed} failed attempts (retried)` : ''}   `,
    );
    if (done >= hours) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const seconds = (Date.now() - since) / 1000;
  console.log(`\nDone: ${hours} hours recomputed and committed in ${seconds.toFixed(1)} s.`);
  return 0;
});
