/**
 * `npm run reprocess -- --from <time> --to <time> [--sites a,b]`: recomputes the batch layer's hours of a range
 * through the running service (its queue), and shows their progress. Interrupting this command
 * stops only the progress display: the queued hours are in Redis and the service finishes them,
 * across its own restarts too. Running it again for the same range is safe (idempotent).
 */
import { parseArgs } from 'node:util';
import { adminClient, runCommand } from './admin-client.js';

const help = `Usage: npm run reprocess -- --from <time> --to <time> [--sites <id,id,…>] [--url <service>] [--token <admin token>]

Recomputes every hour of [from, to) from events_raw with the current batch logic and commits
each hour atomically. Times are ISO 8601 (2026-11-20T00:00:00Z) or dates (2026-11-20).

  --sites   only these sites (comma-separated site ids); the other sites keep their numbers

  --url     the running service (default http://127.0.0.1:$PORT, PORT default 8080)
  --token   the admin token (default $ADMIN_TOKEN, else DATA_DIR/admin-token)`;

function bar(done: number, total: number, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

runCommand('reprocess', async () => {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      sites: { type: 'string' },
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
