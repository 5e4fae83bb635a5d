/**
 * `npm start`: the embedded mode. Brings up what the config leaves unset (a local Kafka, Redis),
 * applies the migrations, runs every role in this process and prints where to look.
 */
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig } from '@sightline/core';
import { DEMO_DOMAIN, ensureDemoSite, streamDemoTraffic } from './demo.js';
import { startEmbedded } from './embedded.js';
import { startLocalStack } from './local-stack.js';
import { PrerequisiteError } from './stack/index.js';

const help = `Usage: npm start [-- --demo]

Starts Sightline in one process: ingest, speed layer and serving on one port, with ClickHouse
embedded (chDB) under DATA_DIR, plus a local Kafka and Redis when KAFKA_BROKERS / REDIS_URL are unset.

Options:
  --demo     also stream generated traffic into the site "${DEMO_DOMAIN}"
  -h, --help show this help

Configuration is read from the environment; the README lists every variable and its default.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { demo: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  const progress = (line: string) => console.log(`  ${line}`);

  console.log('Starting Sightline (embedded mode)…');
  const stack = await startLocalStack(config, logger, {
    progress,
    kafkaPort: config.LOCAL_KAFKA_PORT,
    controllerPort: config.LOCAL_KAFKA_PORT + 1,
  });
  progress('applying migrations and starting the roles…');
  const service = await startEmbedded(stack.config, logger).catch(async (error: unknown) => {
    await stack.stop();
    throw error;
  });

  const demo = new AbortController();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    demo.abort();
    await service.close();
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  const tomorrow = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
  const demoSite = values.demo ? await ensureDemoSite(service.url, service.adminToken) : undefined;
  const site = demoSite ?? 'SITE_ID';
  const tokenSource = config.ADMIN_TOKEN ? 'ADMIN_TOKEN' : `${config.DATA_DIR}/admin-token`;
  console.log(`
Sightline is running at ${service.url}
  Dashboard: ${service.url}/ (sign in with the admin token below, or a read key)
  Kafka ${stack.config.KAFKA_BROKERS} · Redis ${stack.config.REDIS_URL} · ClickHouse ${config.CLICKHOUSE_URL ?? `chDB in ${config.DATA_DIR}/clickhouse`}
  Admin token (from ${tokenSource}): ${service.adminToken}
${
  demoSite
    ? `\nThe demo site ${DEMO_DOMAIN} has site_id ${demoSite}.\n`
    : `
Create a site (answers its site_id):
  curl -X POST ${service.url}/v1/admin/sites -H 'authorization: Bearer ${service.adminToken}' \\
    -H 'content-type: application/json' -d '{"domain":"my-site.example","timezone":"Europe/Berlin"}'
`
}
Send an event:
  curl -i -X POST ${service.url}/v1/events -H 'content-type: application/json' \\
    -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' \\
    -d '{"site_id":"${site}","name":"pageview","url":"https://${demoSite ? DEMO_DOMAIN : 'my-site.example'}/pricing"}'

Make a read key for the site (the answer's "key" is shown once):
  curl -X POST ${service.url}/v1/admin/keys -H 'authorization: Bearer ${service.adminToken}' \\
    -H 'content-type: application/json' -d '{"sites":["${site}"],"scope":"read"}'

Read it back with that key (within a few seconds; requests without a browser's User-Agent, such as
plain curl, count as bots and stay out of the metrics):
  curl -H 'authorization: Bearer sl_…' \\
    '${service.url}/v1/sites/${site}/timeseries?metrics=pageviews,visitors&interval=hour&from=${today}&to=${tomorrow}'

API documentation: ${service.url}/docs

Health: ${service.url}/health · readiness: ${service.url}/ready · metrics: ${service.url}/metrics · stop with Ctrl-C
`);
  if (demoSite) {
    console.log(`Streaming demo traffic into ${DEMO_DOMAIN}…`);
    void streamDemoTraffic(service.url, demoSite, logger.child({ component: 'demo' }), demo.signal);
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof PrerequisiteError) {
    console.error(`sightline: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
