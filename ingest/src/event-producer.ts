import type { StoredEvent } from '@sightline/core';
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';

export interface EventSink {
  /** Resolves once Kafka acknowledged every event (acks=all); rejects otherwise. */
  send(events: StoredEvent[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * kafkajs idempotent producer: retries never duplicate a message inside Kafka, and acks=all means
 * an acknowledged event is on every in-sync replica. Keyed by site so one site's events keep their
 * order within a partition.
 */
export class KafkaEventSink implements EventSink {
  readonly #producer: Producer;

  private constructor(
    producer: Producer,
    private readonly topic: string,
  ) {
    this.#producer = producer;
  }

  static async connect(kafka: Kafka, topic: string): Promise<KafkaEventSink> {
    // One request in flight keeps the idempotent sequence numbers in order (kafkajs requirement).
    // Retries stay bounded (kafkajs warns that this weakens exactly-once): a request must not hang
    // while Kafka is away; the client retries with the same event_id and the batch layer dedups.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new KafkaEventSink(producer, topic);
  }

  async send(events: StoredEvent[]): Promise<void> {
    await this.#producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: events.map((event) => ({ key: event.site_id, value: JSON.stringify(event) })),
    });
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
