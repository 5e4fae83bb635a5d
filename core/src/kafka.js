import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import { kafkaBrokers } from './config.js';

export { Kafka };

const levels = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};
export function createKafka(config, logger, clientId = 'sightline') {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const toPino =
    () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      // kafkajs logs a retried "coordinator is loading" as ERROR while a fresh broker warms up; it
      // retries on its own, so these are warnings for us.
      const pinoLevel =
        levels[level] === 'error' && log.retryCount === undefined ? 'warn' : (levels[level] ?? 'info');
      kafkaLogger[pinoLevel](extra, message);
    };
  return new Kafka({
    clientId,
    brokers: kafkaBrokers(config),
    logLevel: KafkaLogLevel.WARN,
    logCreator: toPino,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}
/** Creates the events topic when missing; a single broker gets replication factor 1. */
export async function ensureEventsTopic(kafka, config) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (topics.includes(config.KAFKA_EVENTS_TOPIC)) return;
    const brokers = (await admin.describeCluster()).brokers.length;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: config.KAFKA_EVENTS_TOPIC,
          numPartitions: config.KAFKA_EVENTS_PARTITIONS,
          replicationFactor: Math.min(3, brokers),
          configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, brokers)) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}
