/**
 * `npm run analyst-user -- --user acme --site s_… [--site s_…]`: the ClickHouse user of an analyst
 * in cluster mode, limited to their sites by row policies. Prints the statements; `--execute` runs
 * them on CLICKHOUSE_URL.
 */
import { parseArgs } from 'node:util';
import { createClickHouse, loadConfig } from '@sightline/core';
import { analystUserSql, readSchema } from '@sightline/serving';
import { runCommand } from './admin-client.js';

const help = `Usage: npm run analyst-user -- --user <name> --site <site_id> [--site <site_id> …] [options]

Prints the statements that make a ClickHouse user for an analyst: read-only (readonly=1) with a time
and a row limit, SELECT on the analyst views (database analyst, see README) and on the tables they
read, and a row policy on site_id on every table that has one, so the user sees only these sites.
Needs CLICKHOUSE_URL (the cluster mode; embedded mode has POST /v1/sql instead): the tables are
read from the server.

  --user       the user's name (lowercase letters, digits, underscores)
  --site       a site the user may read; repeat for more
  --password   the password (default: a random one, printed)
  --database   the service's database (default: default)
  --cluster    add ON CLUSTER <name> to every statement
  --max-execution-seconds  (default 60)   --max-result-rows  (default 1000000)
  --execute    run the statements instead of only printing them`;

runCommand('analyst-user', async () => {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      site: { type: 'string', multiple: true },
      password: { type: 'string' },
      database: { type: 'string' },
      cluster: { type: 'string' },
      'max-execution-seconds': { type: 'string' },
      'max-result-rows': { type: 'string' },
      execute: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (!values.user || !values.site?.length) {
    console.error('sightline analyst-user: --user and at least one --site are required (see --help)');
    return 2;
  }
  const config = loadConfig(process.env);
  if (!config.CLICKHOUSE_URL) {
    console.error(
      'sightline analyst-user: set CLICKHOUSE_URL (cluster mode); embedded mode has POST /v1/sql',
    );
    return 2;
  }
  const ch = createClickHouse(config);
  try {
    const database = values.database ?? 'default';
    const { statements, password } = analystUserSql(
      {
        user: values.user,
        sites: values.site,
        database,
        ...(values.password && { password: values.password }),
        ...(values.cluster && { cluster: values.cluster }),
        ...(values['max-execution-seconds'] && {
          maxExecutionSeconds: Number(values['max-execution-seconds']),
        }),
        ...(values['max-result-rows'] && { maxResultRows: Number(values['max-result-rows']) }),
      },
      await readSchema(ch, database),
    );
    for (const statement of statements) {
      console.log(`${statement};`);
      if (values.execute) await ch.command({ query: statement });
    }
    console.error(
      `-- password of ${values.user}: ${password}${values.execute ? '' : ' (not executed; add --execute)'}`,
    );
    return 0;
  } finally {
    await ch.close();
  }
});
