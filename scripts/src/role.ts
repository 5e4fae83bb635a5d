/**
 * Runs one role of the service (or a few) in this process, for the cluster mode: one container per
 * role, each on its own port with /health, /ready and /metrics. The wiring is the embedded mode's
 * (roles.ts); nothing is started besides the roles: KAFKA_BROKERS must point at Kafka.
 */
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, loadConfig } from '@sightline/core';
import { migrateOnly, parseRoles, roleNames, startRoles } from './roles.js';

const help = `Usage: npm run role -- --role <role>[,<role>…] [--migrate-only]   (built: node scripts/dist/role.js …)

Runs roles of Sightline in this process on PORT (default 8080), with /health, /ready and /metrics:
  ingest    POST /v1/events, /api/event, /v1/pixel.gif, /t.js: validate, enrich, produce to Kafka
  speed     watches ClickHouse's Kafka engine (consumer lag, dead letters), runs replays
  batch     the BullMQ scheduler and a worker: recomputes closed hours (run as many as needed)
  serving   the query API, the admin API and the dashboard; with batch or speed in the same
            process also the reprocess and replay admin routes

Every process first applies the migrations (a no-op once applied); --migrate-only applies them
and exits. Configuration is the environment (see README, Configuration): KAFKA_BROKERS is required,
CLICKHOUSE_URL, CLICKHOUSE_CLUSTER and REDIS_URL select the cluster's services.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      'migrate-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return;
  }
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  if (!config.KAFKA_BROKERS)
    throw new ConfigError('KAFKA_BROKERS is not set: a role alone starts no local Kafka');
  if (values['migrate-only']) {
    await migrateOnly(config, logger);
    return;
  }
  if (!values.role) throw new ConfigError(`--role is required (${roleNames.join(', ')}); see --help`);
  const roles = parseRoles(values.role);
  const running = await startRoles(config, logger, roles);
  logger.info({ roles: running.roles, url: running.url }, 'sightline role started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`sightline: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
