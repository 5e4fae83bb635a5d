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
