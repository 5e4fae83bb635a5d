import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** spoolOldestReceivedAt: Spool.oldestReceivedAt, for the age of the oldest event waiting in the spool. */
export function createIngestMetrics(
  registry: Registry,
  spoolBytes: () => number,
  spoolOldestReceivedAt: () => number | undefined = () => undefined,
) {
  return {
    accepted: new Counter({
      name: 'sightline_ingest_events_accepted_total',
      help: 'Events acknowledged to clients, by where they became durable (kafka or spool).',
      labelNames: ['stored'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'sightline_ingest_events_rejected_total',
      help: 'Events refused, by reason (the error code answered).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    durableSeconds: new Histogram({
      name: 'sightline_ingest_durable_seconds',
      help: 'Time from a request being valid to its events being durable (Kafka ack or spool fsync).',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    spoolBytes: new Gauge({
      name: 'sightline_ingest_spool_bytes',
      help: 'Bytes of events waiting in the local spool for Kafka.',
      registers: [registry],
      collect() {
        this.set(spoolBytes());
      },
    }),
    spoolOldestAge: new Gauge({
      name: 'sightline_ingest_spool_oldest_event_age_seconds',
      help: 'How long the oldest event in the local spool has waited for Kafka (0 when the spool is empty). The consumer lag cannot show this delay: these events are not in Kafka yet.',
      registers: [registry],
      collect() {
        this.set(spoolAge(spoolOldestReceivedAt()));
      },
    }),
  };
}

/** Seconds since `receivedAt` (epoch ms), 0 when nothing waits. */
export function spoolAge(receivedAt: number | undefined, now = Date.now()): number {
  return receivedAt === undefined ? 0 : Math.max(0, (now - receivedAt) / 1000);
}
