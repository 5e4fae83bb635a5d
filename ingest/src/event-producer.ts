import type { StoredEvent } from '@sightline/core';
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';

export interface KafkaSinkOptions {
  topic: string;
  /** How long the first event of a batch waits for company before the batch goes out. */
  lingerMs?: number;
  /** A batch goes out as soon as it holds this many events. */
  maxBatch?: number;
}

interface Waiting {
  events: StoredEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * kafkajs idempotent producer with acks=all: a retry never duplicates a message inside Kafka, and an
 * acknowledged event is on every in-sync replica. Keyed by site, so one site's events keep their
 * order within a partition.
 *
 * kafkajs has no linger setting, so concurrent requests are gathered here: the first event waits up
 * to lingerMs (or until maxBatch events are waiting) and the whole group goes out in one request;
 * each caller's promise settles with its group's acknowledgement.
 */
export class KafkaEventSink {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  #waiting: Waiting[] = [];
  #waitingEvents = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  private constructor(producer: Producer, options: KafkaSinkOptions) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#maxBatch = options.maxBatch ?? 2000;
  }

  static async connect(kafka: Kafka, options: KafkaSinkOptions): Promise<KafkaEventSink> {
    // Retries stay bounded (kafkajs warns that this weakens exactly-once): a request must not hang
    // while Kafka is away. The durable sink spools what Kafka did not take in time, and a message
    // that went out twice carries the same event_id, which the batch layer deduplicates.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    await producer.connect();
    return new KafkaEventSink(producer, options);
  }

  /** Resolves once Kafka acknowledged every event (acks=all); rejects otherwise. */
  send(events: StoredEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ events, resolve, reject });
      this.#waitingEvents += events.length;
      if (this.#waitingEvents >= this.#maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#lingerMs);
    });
  }

  /** Sends events straight away, without lingering: for the spool's replay. */
  async sendNow(events: StoredEvent[]): Promise<void> {
    await this.#producer.send({
      topic: this.#topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: events.map((event) => ({ key: event.site_id, value: JSON.stringify(event) })),
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const group = this.#waiting;
    this.#waiting = [];
    this.#waitingEvents = 0;
    if (group.length === 0) return;
    const sent = this.sendNow(group.flatMap((w) => w.events)).then(
      () => {
        for (const w of group) w.resolve();
      },
      (error: unknown) => {
        for (const w of group) w.reject(error);
      },
    );
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  /** Sends what is waiting, waits for every request in flight, then disconnects. */
  async close(): Promise<void> {
    this.#flush();
    await Promise.allSettled(this.#inFlight);
    await this.#producer.disconnect();
  }
}
