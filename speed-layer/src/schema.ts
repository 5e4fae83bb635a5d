import { type ClickHouseClient, type Config, type Logger, migrate } from '@sightline/core';

/**
 * The speed layer owns the ClickHouse schema: it applies the migrations in sql/, including the
 * Kafka engine table whose consumer starts as soon as its views are attached.
 */
export async function applySchema(ch: ClickHouseClient, config: Config, logger: Logger): Promise<void> {
  const brokers = config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set; the Kafka engine table needs a broker list');
  const { applied } = await migrate(ch, {
    logger,
    cluster: config.CLICKHOUSE_CLUSTER,
    variables: {
      kafka_brokers: brokers,
      events_topic: config.KAFKA_EVENTS_TOPIC,
      consumer_group: config.KAFKA_CONSUMER_GROUP,
      kafka_consumers: Math.min(config.KAFKA_ENGINE_CONSUMERS, config.KAFKA_EVENTS_PARTITIONS),
    },
  });
  logger.info(
    { applied: applied.map((m) => m.file) },
    applied.length ? 'schema migrated' : 'schema up to date',
  );
}

/**
 * Stops the Kafka engine's consumers in this process (embedded chDB only): DETACH shuts them down
 * after the block in flight is written and committed. It is not PERMANENTLY, so the next start
 * attaches the table again from its metadata. Measured (scripts/test/fault-consumer-restart.test.ts):
 * the consumers still stay members of their group after the process exits, so the next start waits
 * for the session timeout (45 s) as after kill -9. Not for a ClickHouse server: there the stream
 * belongs to the server, and a detach would last until the server restarts.
 */
export async function stopStream(ch: ClickHouseClient): Promise<void> {
  const tables = await (
    await ch.query({
      query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'Kafka'",
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  for (const { name } of tables) {
    if (!/^\w+$/.test(name)) throw new Error(`unexpected Kafka table name ${JSON.stringify(name)}`);
    await ch.command({ query: `DETACH TABLE ${name}` });
  }
}
