import { z } from 'zod';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/**
 * Every setting the service reads, in one place. Parsed once per process at boot and passed down;
 * no module reads process.env on its own.
 */
export const configSchema = z.object({
  /** HTTP port of the embedded service (ingest + serving on one port); 0 picks a free one. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on; 0.0.0.0 to accept connections from other hosts. */
  HOST: z.string().default('127.0.0.1'),
  /** trace | debug | info | warn | error | fatal */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Where the embedded mode keeps its data (chDB, the local Kafka and Redis, the ingest spool). */
  DATA_DIR: z.string().default('./data'),

  /** ClickHouse server over HTTP (e.g. http://localhost:8123). Unset: embedded chDB under DATA_DIR/clickhouse. */
  CLICKHOUSE_URL: optionalString.pipe(
    z.url({ error: 'must be an http(s) URL such as http://localhost:8123' }).optional(),
  ),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /**
   * Name of a ClickHouse cluster (its remote_servers entry) for the cluster mode: the migrations then
   * make Replicated tables ON CLUSTER, with Distributed tables over the shards sharded by site, and the
   * Kafka engine table on every node (core/src/cluster-ddl.ts). Unset: the single-node tables.
   */
  CLICKHOUSE_CLUSTER: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain cluster name: letters, digits, underscore')
      .optional(),
  ),
  /** Connections kept for the query API; the batch layer opens its own so heavy work never queues reads. */
  CLICKHOUSE_SERVING_CONNECTIONS: z.coerce.number().int().min(1).max(64).default(2),

  /** Comma-separated broker list. Unset: the launcher runs a local single-node Kafka. */
  KAFKA_BROKERS: optionalString,
  /** Port of the local Kafka that `npm start` runs when KAFKA_BROKERS is unset (its controller takes the next one). */
  LOCAL_KAFKA_PORT: z.coerce.number().int().min(1).max(65534).default(9092),
  /** Broker list as ClickHouse's Kafka engine must reach it; defaults to KAFKA_BROKERS. */
  CLICKHOUSE_KAFKA_BROKERS: optionalString,
  KAFKA_EVENTS_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore, dash')
    .default('events'),
  /** Partitions of the events topic; the speed layer runs one consumer per partition. */
  KAFKA_EVENTS_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(4),
  /** Consumers of ClickHouse's Kafka engine table (at most the topic's partitions and the server's cores). */
  KAFKA_ENGINE_CONSUMERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Consumer group of ClickHouse's Kafka engine. */
  KAFKA_CONSUMER_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore, dash')
    .default('sightline-speed'),

  /** Ingest waits this long for Kafka's acknowledgement before it writes the events to the local spool. */
  PRODUCE_DEADLINE_MS: z.coerce.number().int().min(10).max(60_000).default(2000),
  /** Where ingest spools events while Kafka is unreachable; default DATA_DIR/spool. */
  SPOOL_DIR: optionalString,
  /** The spool's size limit; beyond it ingest answers 503 with Retry-After instead of accepting. */
  SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 ** 3),

  /** Request header a CDN or proxy sets to the visitor's ISO country code (e.g. cf-ipcountry); unset: no country. */
  COUNTRY_HEADER: optionalString.transform((h) => h?.toLowerCase()),
  /** Ingest requests per client IP per minute (Redis-backed, shared by every instance); 0 turns it off. */
  RATE_LIMIT_IP_PER_MINUTE: z.coerce.number().int().min(0).default(3000),
  /** Events per site per minute; 0 turns it off. */
  RATE_LIMIT_SITE_PER_MINUTE: z.coerce.number().int().min(0).default(3_000_000),
  /** Query API requests per API key per minute (Redis-backed; 429 with Retry-After beyond); 0 turns it off. */
  RATE_LIMIT_KEY_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  /** How long a looked-up API key is trusted before it is read again: a revocation takes effect within this. */
  API_KEY_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(5),
  /** POST /v1/sql: longest run of one analyst query, seconds. */
  SQL_MAX_EXECUTION_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** POST /v1/sql: most rows one analyst query may answer (beyond: 400 too_many_rows). */
  SQL_MAX_RESULT_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Bearer token of the admin endpoints (sites, keys). Unset: `npm start` makes one and keeps it in DATA_DIR/admin-token. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),

  /** Consumer lag (messages) above which the speed layer logs an alert line. */
  SPEED_LAG_ALERT: z.coerce.number().int().min(1).default(100_000),
  /**
   * Seconds the oldest event in ingest's spool may wait for Kafka before the speed layer logs an
   * alert line: spooled events are not in Kafka yet, so the consumer lag cannot show that delay.
   */
  SPEED_SPOOL_AGE_ALERT_SECONDS: z.coerce.number().int().min(1).default(60),

  /** Cron pattern (UTC) of the batch layer's planning run; a few minutes after each hour. */
  BATCH_SCHEDULE: z.string().default('5 * * * *'),
  /** Hours back in which the batch re-commits hours that received late events since their commit. */
  BATCH_LATE_WINDOW_HOURS: z.coerce.number().int().min(0).max(72).default(6),
  /** Hours recomputed at once (each one scans its hour of events_raw). */
  BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  /** BullMQ queue of the batch layer; tests and side-by-side installs use their own. */
  BATCH_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, underscore, dash')
    .default('sightline-batch'),

  /** redis://host:port/db. Unset: a local redis-server on 127.0.0.1:6379 (started when none answers). */
  REDIS_URL: optionalString.pipe(
    z.url({ error: 'must be a redis:// URL such as redis://127.0.0.1:6379' }).optional(),
  ),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; a bad value throws a ConfigError whose message names each variable and the rule. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const variable = issue.path.join('.');
    const got = env[variable];
    return `${variable}=${JSON.stringify(got ?? '')}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}

export function kafkaBrokers(config: Config): string[] {
  if (!config.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS is not set and no local Kafka was started');
  return config.KAFKA_BROKERS.split(',').map((b) => b.trim());
}
