/**
 * `npm run backup -- --to <dir>` and `npm run backup -- --restore <dir>`: stop-and-copy backup of
 * the embedded mode's ClickHouse data (DATA_DIR/clickhouse). Run it while the service is stopped.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@sightline/core';
import { runCommand } from './admin-client.js';
import { backupDataDir, restoreDataDir } from './backup-data.js';

const help = `Usage: npm run backup -- --to <dir>        copy DATA_DIR/clickhouse into a new <dir>
       npm run backup -- --restore <dir>   replace DATA_DIR/clickhouse with the backup in <dir>

Embedded mode only, with the service STOPPED (chDB lets one process open the data directory, and
a copy of a directory being written is not a backup). DATA_DIR comes from the environment as for
npm start (default ./data). A restore keeps the replaced directory beside it as
clickhouse.before-restore-<time>. Events acknowledged after the backup are still in Kafka (within
its retention): after a restore, npm run replay -- --from <backup time> brings them back, and
events already there are skipped. For a ClickHouse server (cluster mode), use its own
BACKUP … TO S3/Disk; see the README.`;

runCommand('backup', async () => {
  const { values } = parseArgs({
    options: {
      to: { type: 'string' },
      restore: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (Boolean(values.to) === Boolean(values.restore)) {
    console.error('sightline backup: give one of --to <dir> or --restore <dir> (see --help)');
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.CLICKHOUSE_URL) {
    console.error(
      'sightline backup: CLICKHOUSE_URL is set; back up the ClickHouse server with BACKUP (see the README)',
    );
    return 2;
  }
  if (values.to) {
    const bytes = await backupDataDir(config.DATA_DIR, values.to);
    console.log(`Backed up ${config.DATA_DIR}/clickhouse to ${values.to} (${(bytes / 1e6).toFixed(1)} MB).`);
  } else {
    const kept = await restoreDataDir(values.restore!, config.DATA_DIR);
    console.log(
      `Restored ${values.restore} into ${config.DATA_DIR}/clickhouse.${kept ? ` The previous data is in ${kept}.` : ''}`,
    );
  }
  return 0;
});
