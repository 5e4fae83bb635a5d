/**
 * `npm run replay -- --from <time> [--to <time>]`: re-reads the events topic into events_raw
 * through the running service, for when the stream was paused or misconfigured. Events already in
 * events_raw are skipped, so replaying a range twice changes nothing.
 */
import { parseArgs } from 'node:util';
import { adminClient, runCommand } from './admin-client.js';

const help = `Usage: npm run replay -- --from <time> [--to <time>] [--url <service>] [--token <admin token>]

Re-reads the Kafka events topic from the first message at or after --from (ISO 8601 or a date)
up to --to (default: the end of the topic now) into events_raw, skipping events already there.`;

runCommand('replay', async () => {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (!values.from) {
    console.error('sightline replay: --from is required (see --help)');
    return 2;
  }
  const admin = await adminClient(values);
  const started = await admin.post('/v1/admin/replay', {
    from: values.from,
    ...(values.to ? { to: values.to } : {}),
  });
  if (started.status !== 202) {
    console.error(`sightline replay: ${started.status} ${started.body.error?.message ?? ''}`);
    return 1;
  }
  console.log(`Replaying from ${values.from}${values.to ? ` to ${values.to}` : ''}…`);
  for (;;) {
    const state = (await admin.get('/v1/admin/replay')).body as {
      state: string;
      progress?: { messages: number; inserted: number; skipped: number; lagRemaining: number };
      result?: { messages: number; inserted: number; skipped: number; deadLetters: number };
      error?: string;
    };
    const p = state.result ?? state.progress;
    if (p)
      process.stdout.write(
        `\r${p.messages} messages read · ${p.inserted} inserted · ${p.skipped} already there   `,
      );
    if (state.state === 'failed') {
      console.error(`\nsightline replay: failed: ${state.error}`);
      return 1;
    }
    if (state.state === 'done') {
      const r = state.result!;
      console.log(
        `\nDone: ${r.messages} messages, ${r.inserted} inserted, ${r.skipped} already there, ${r.deadLetters} dead letters.`,
      );
      return 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
});
