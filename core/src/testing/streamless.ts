import type { MigrateOptions } from '../migrations.js';

/**
 * Migrations for a schema whose Kafka table reaches no broker: for tests and benchmarks that write
 * events_raw themselves, so that nothing but their own rows reaches the tables.
 */
export const streamlessMigration: MigrateOptions = {
  variables: {
    kafka_brokers: '127.0.0.1:1',
    events_topic: 'unused',
    consumer_group: 'unused',
    kafka_consumers: 1,
  },
};
