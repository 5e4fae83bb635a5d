import type { Logger, StoredEvent } from '@sightline/core';
import type { KafkaEventSink } from './event-producer.js';
import type { Spool } from './spool.js';

/** Where an accepted event became durable. */
export type Stored = 'kafka' | 'spooled';

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

export interface DurableSinkOptions {
  /** How long a request waits for Kafka's acknowledgement before its events go to the spool. */
  produceDeadlineMs: number;
  /** How often a non-empty spool is offered back to Kafka. */
  replayIntervalMs?: number;
  logger: Logger;
}

/**
 * Kafka first, the local spool when Kafka is unreachable or slower than the deadline. Either way the
 * promise resolves only once the events are durable, and the answer says where. While the spool
 * holds a backlog and Kafka keeps failing, new events go straight to the spool rather than each
 * request waiting out the deadline.
 */
export class DurableEventSink {
  #kafkaHealthy = true;
  #replaying: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly kafka: KafkaEventSink,
    private readonly spool: Spool,
    private readonly options: DurableSinkOptions,
  ) {
    this.#timer = setInterval(() => void this.replay(), options.replayIntervalMs ?? 1000);
    this.#timer.unref();
  }

  get kafkaHealthy(): boolean {
    return this.#kafkaHealthy;
  }

  /** True while an event can still be made durable somewhere (Kafka answers, or the spool has room). */
  get writable(): boolean {
    return this.#kafkaHealthy || !this.spool.full;
  }

  get spoolBytes(): number {
    return this.spool.bytes;
  }

  /** Resolves with where the events are durable; rejects with SpoolFullError when neither can take them. */
  async send(events: StoredEvent[]): Promise<Stored> {
    if (this.#kafkaHealthy || this.spool.bytes === 0) {
      try {
        await withDeadline(this.kafka.send(events), this.options.produceDeadlineMs);
        this.#kafkaHealthy = true;
        return 'kafka';
      } catch (error) {
        if (this.#kafkaHealthy)
          this.options.logger.warn({ err: error }, 'Kafka did not acknowledge in time; spooling');
        this.#kafkaHealthy = false;
      }
    }
    if ((await this.spool.append(events)) === 'full') throw new SpoolFullError('the local spool is full');
    return 'spooled';
  }

  /** Moves the spool's backlog to Kafka, oldest first; one replay at a time. */
  replay(): Promise<void> {
    if (this.spool.bytes === 0) return Promise.resolve();
    this.#replaying ??= this.spool
      .replay((events) => this.kafka.sendNow(events))
      .then(
        (count) => {
          if (count) this.options.logger.info({ events: count }, 'replayed spooled events to Kafka');
          this.#kafkaHealthy = true;
        },
        (error: unknown) => {
          this.#kafkaHealthy = false;
          this.options.logger.debug({ err: error }, 'spool replay failed; will retry');
        },
      )
      .finally(() => {
        this.#replaying = undefined;
      });
    return this.#replaying;
  }

  /** Flushes the producer and closes the spool; what stayed in the spool is replayed at the next start. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#replaying;
    await this.kafka.close();
    await this.spool.close();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
