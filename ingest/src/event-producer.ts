import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';
import type { StoredEvent } from '@sightline/core';
import kafkajs, {
  CompressionTypes,
  type ICustomPartitioner,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';

export interface KafkaSinkOptions {
  topic: string;
  /** Producers working in parallel, each with one request in flight. */
  producers?: number;
  /**
   * How long the first waiting event waits for company while a producer is free. 1 ms (Node's
   * shortest timer) rather than 2: the ingest role alone answered 10,728 single-event requests/s with
   * 2 ms and 14,806 with 1 ms in one run (bench/RESULTS.md); setImmediate, which gathers only the
   * requests read in the same turn of the event loop, gave 12,785 a few minutes later.
   */
  lingerMs?: number;
  /**
   * Most events in one produce request. kafkajs encodes a request in JavaScript at a cost that grows
   * faster than its size: on this project's 2-core reference machine one producer moved about 21k
   * events/s in 1,000- or 2,000-event requests but 11k in 5,000-event ones.
   */
  maxBatch?: number;
}

/**
 * kafkajs's default partitioner (murmur2 of the key, as Java's client does), with each key's partition
 * remembered until the topic's partition count changes: every message of a site has the same key, and
 * the default one hashes it again (and copies the partition list) for each message.
 */
const rememberedPartitions: ICustomPartitioner = () => {
  const byKey = Partitioners.DefaultPartitioner();
  const remembered = new Map<string, number>();
  let partitions = 0;
  return (args) => {
    if (args.partitionMetadata.length !== partitions) {
      remembered.clear();
      partitions = args.partitionMetadata.length;
    }
    const key = String(args.message.key);
    let partition = remembered.get(key);
    if (partition === undefined) {
      partition = byKey(args);
      remembered.set(key, partition);
    }
    return partition;
  };
};

/**
 * Produce requests are gzipped at zlib's fastest level instead of kafkajs's default (6). zlib runs on
 * libuv's threads, whose CPU the ingest role's own thread, the broker and the load share on a small
 * machine: the role under 500-event requests took 16.8-17.0 instead of 17.3-19.5 µs of process CPU
 * per event (two runs each, interleaved). Any gzip reader (ClickHouse's Kafka engine, kafkajs) reads
 * either level.
 */
const gzipFast = promisify(gzip);
const gunzip = promisify(unzip);
// CompressionCodecs is only on kafkajs's default export (its index spreads errors into the exports).
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => gzipFast(encoder.buffer, { level: 1 }),
  decompress: (buffer: Buffer) => gunzip(buffer),
});

/** Most events in one Kafka message; see toMessages. */
const rowsPerMessage = 100;

/**
 * The Kafka messages of a produce request: several events per message, each event one JSON row of
 * the message, rows separated by '\n'. ClickHouse's Kafka engine reads every row of a JSONEachRow
 * message, while kafkajs's cost is per message (encoding each record, grouping by partition). The
 * ingest role under the benchmark's load, both variants in one run on a busy 2-core machine: 100
 * events per message instead of one took 63 instead of 96 µs of CPU per event in 500-event
 * requests (18,700 instead of 11,450 events/s) and single-event requests from 2,024 to 2,529/s.
 * Rows of one site share a message and its key (the site), in order, so a site's events keep
 * their order within its partition as before.
 *
 * ClickHouse refuses a message as a whole when one of its rows does not parse: with
 * kafka_handle_error_mode = 'stream' it drops the rows already read from that message and writes
 * one row with the whole message to events_dead_letter. So an event ClickHouse may refuse although
 * ingest accepted it travels alone, as every event did before, and takes no other event with it:
 * one with revenue (an amount beyond Decimal(18, 4)) or with a lone surrogate in a string
 * (JSON.stringify writes it as a \ud… escape, which ClickHouse's JSON parser rejects).
 */
export function toMessages(events: readonly StoredEvent[]): Message[] {
  const messages: Message[] = [];
  const open = new Map<string, string[]>();
  const close = (site: string, rows: string[]) => {
    messages.push({ key: site, value: rows.join('\n') });
    open.delete(site);
  };
  for (const event of events) {
    const site = event.site_id;
    const row = JSON.stringify(event);
    let rows = open.get(site);
    if (event.revenue_amount !== null || row.includes('\\ud')) {
      if (rows) close(site, rows);
      messages.push({ key: site, value: row });
      continue;
    }
    if (!rows) {
      rows = [];
      open.set(site, rows);
    }
    rows.push(row);
    if (rows.length === rowsPerMessage) close(site, rows);
  }
  for (const [site, rows] of open) close(site, rows);
  return messages;
}

interface Waiting {
  events: StoredEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Idempotent kafkajs producers with acks=all: a retry never duplicates a message inside Kafka, and an
 * acknowledged event is on every in-sync replica. Keyed by site, so one site's events from one
 * producer keep their order within a partition.
 *
 * kafkajs has no linger setting and an idempotent producer keeps one request in flight, so one
 * producer tops out near (batch size / round trip). Concurrent requests are therefore gathered here
 * and spread over a few producers: a free producer takes everything waiting (after lingerMs, or at
 * once when maxBatch events wait); while all are busy, arrivals pile up into the next, larger batch.
 * Each caller's promise settles with its batch's acknowledgement.
 */
export class KafkaEventSink {
  readonly #free: Producer[];
  readonly #all: Producer[];
  readonly #topic: string;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  #waiting: Waiting[] = [];
  #waitingEvents = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  private constructor(producers: Producer[], options: KafkaSinkOptions) {
    this.#all = producers;
    this.#free = [...producers];
    this.#topic = options.topic;
    this.#lingerMs = options.lingerMs ?? 1;
    this.#maxBatch = options.maxBatch ?? 1000;
  }

  static async connect(kafka: Kafka, options: KafkaSinkOptions): Promise<KafkaEventSink> {
    const producers = Array.from({ length: options.producers ?? 4 }, () =>
      // Retries stay bounded (kafkajs warns that this weakens exactly-once): a request must not hang
      // while Kafka is away. The durable sink spools what Kafka did not take in time, and a message
      // that went out twice carries the same event_id, which the batch layer deduplicates.
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: rememberedPartitions,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      }),
    );
    await Promise.all(producers.map((p) => p.connect()));
    return new KafkaEventSink(producers, options);
  }

  /** Resolves once Kafka acknowledged every event (acks=all); rejects otherwise. */
  send(events: StoredEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ events, resolve, reject });
      this.#waitingEvents += events.length;
      if (this.#waitingEvents >= this.#maxBatch) this.#drain();
      else this.#timer ??= setTimeout(() => this.#drain(), this.#lingerMs);
    });
  }

  /** Sends events straight away on the first producer: for the spool's replay. */
  async sendNow(events: StoredEvent[]): Promise<void> {
    await this.#produce(this.#all[0]!, events);
  }

  #produce(producer: Producer, events: StoredEvent[]): Promise<unknown> {
    return producer.send({
      topic: this.#topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: toMessages(events),
    });
  }

  #drain(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#waiting.length && this.#free.length) {
      const producer = this.#free.pop()!;
      const group: Waiting[] = [];
      let size = 0;
      while (
        this.#waiting.length &&
        (size === 0 || size + this.#waiting[0]!.events.length <= this.#maxBatch)
      ) {
        const next = this.#waiting.shift()!;
        group.push(next);
        size += next.events.length;
      }
      this.#waitingEvents -= size;
      const sent = this.#produce(
        producer,
        group.flatMap((w) => w.events),
      ).then(
        () => {
          for (const w of group) w.resolve();
        },
        (error: unknown) => {
          for (const w of group) w.reject(error);
        },
      );
      this.#inFlight.add(sent);
      void sent.finally(() => {
        this.#inFlight.delete(sent);
        this.#free.push(producer);
        if (this.#waiting.length) this.#drain();
      });
    }
  }

  /** Sends what is waiting, waits for every request in flight, then disconnects. */
  async close(): Promise<void> {
    while (this.#waiting.length || this.#inFlight.size) {
      this.#drain();
      await Promise.allSettled(this.#inFlight);
    }
    await Promise.all(this.#all.map((p) => p.disconnect()));
  }
}
