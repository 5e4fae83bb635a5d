import { randomUUID } from 'node:crypto';
import {
  type ClickHouseClient,
  type Kafka,
  type Logger,
  type StoredEvent,
  storedEventSchema,
  toClickHouseTime,
} from '@sightline/core';
import type { Batch, Consumer, KafkaMessage } from 'kafkajs';

export interface ReplayDeps {
  kafka: Kafka;
  ch: ClickHouseClient;
  logger: Logger;
}

export interface ReplayProgress {
  messages: number;
  inserted: number;
  skipped: number;
  /** Messages left before the end offsets captured at the start. */
  lagRemaining: number;
}

export interface ReplayOptions {
  topic: string;
  /** Where to start: the first message at or after a time (epoch ms), or offsets per partition (others are not read). */
  from: { timestamp: number } | { offsets: { partition: number; offset: string }[] };
  /** Epoch ms: a partition stops at its first message stamped after this. */
  to?: number;
  /** Messages per ClickHouse round (existence check, then insert). */
  batchSize?: number;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayResult {
  /** Messages read in the range. Ingest puts several events in one message (one JSON row each). */
  messages: number;
  /** Events inserted into events_raw. */
  inserted: number;
  /** Valid events whose event_id was already in events_raw (or earlier in the same round). */
  skipped: number;
  /**
   * Messages with a row that is not a valid stored event (dead-lettered whole); each is in
   * events_dead_letter once, however often replayed.
   */
  deadLetters: number;
}

interface PartitionRange {
  partition: number;
  /** The next offset to take. */
  next: number;
  /** The partition's end offset when the replay started: it stops there, so a replay ends by itself. */
  end: number;
  done: boolean;
}

interface Taken {
  partition: number;
  message: KafkaMessage;
}

type Parsed = { ok: true; events: StoredEvent[] } | { ok: false; error: string };

const defaultBatchSize = 5000;

/**
 * Re-reads a range of the events topic into events_raw, for when the stream was paused or
 * misconfigured. Dedup-safe: an event whose event_id is already in events_raw is skipped, and a bad
 * message is dead-lettered once per (topic, partition, offset), so replaying twice changes nothing.
 *
 * It reads with a consumer group of its own that commits nothing and is deleted at the end, so it
 * never moves the offsets of the group that feeds the speed layer. Offsets are handled as JS numbers:
 * exact up to 2^53, far beyond any real partition.
 */
export async function replayTopic(deps: ReplayDeps, options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, ch } = deps;
  const { topic, to } = options;
  const batchSize = options.batchSize ?? defaultBatchSize;
  const logger = deps.logger.child({ component: 'replay', topic });
  const totals: ReplayResult = { messages: 0, inserted: 0, skipped: 0, deadLetters: 0 };

  const admin = kafka.admin();
  await admin.connect();
  const groupId = `replay-${topic}-${randomUUID()}`;
  let consumer: Consumer | undefined;
  try {
    const ranges = await partitionRanges(admin, options);
    const remaining = () => ranges.reduce((sum, r) => sum + (r.done ? 0 : Math.max(0, r.end - r.next)), 0);
    logger.info({ ranges, to }, 'replay started');
    if (ranges.every((r) => r.done)) return totals;

    const pending: Taken[] = [];
    const flush = async (round: Taken[]) => {
      if (round.length === 0) return;
      const counts = await replayRound(ch, topic, round);
      totals.messages += round.length;
      totals.inserted += counts.inserted;
      totals.skipped += counts.skipped;
      totals.deadLetters += counts.deadLetters;
      const { messages, inserted, skipped } = totals;
      const progress = { messages, inserted, skipped, lagRemaining: remaining() };
      logger.debug(progress, 'replay progress');
      options.onProgress?.(progress);
    };

    const byPartition = new Map(ranges.map((r) => [r.partition, r]));
    const take = (batch: Batch) => {
      const range = byPartition.get(batch.partition);
      if (!range || range.done) return;
      for (const message of batch.messages) {
        const offset = Number(message.offset);
        // Below the start: a fetch made before the seek applied, or a redelivery.
        if (offset < range.next) continue;
        if (offset >= range.end || (to !== undefined && Number(message.timestamp) > to)) {
          range.done = true;
          break;
        }
        pending.push({ partition: batch.partition, message });
        range.next = offset + 1;
      }
      // lastOffset() also covers offsets with no message to hand over (compaction, control records).
      if (range.next >= range.end || Number(batch.lastOffset()) >= range.end - 1) range.done = true;
    };

    consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const finished = outcome();
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) finished.fail(payload.error);
    });
    await consumer.connect();
    // From the beginning, until the seeks below apply: a fetch made before them reads messages below the
    // range, which take() drops, never messages past its end, which would end a partition early.
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat }) => {
        if (finished.settled) return;
        try {
          take(batch);
          if (byPartition.get(batch.partition)?.done)
            consumer?.pause([{ topic, partitions: [batch.partition] }]);
          while (pending.length >= batchSize) {
            await flush(pending.splice(0, batchSize));
            await heartbeat();
          }
          if (ranges.every((r) => r.done)) {
            await flush(pending.splice(0));
            finished.succeed();
          }
        } catch (err) {
          // Fails the replay instead of letting kafkajs retry the batch: a rerun is dedup-safe.
          finished.fail(err);
        }
      },
    });
    // Each partition starts where its range starts. (admin.setOffsets before joining would too, but
    // it runs a whole extra consumer and waits for its fetch: about 5 s.)
    for (const range of ranges) {
      if (range.done) consumer.pause([{ topic, partitions: [range.partition] }]);
      else consumer.seek({ topic, partition: range.partition, offset: String(range.next) });
    }
    await finished.promise;
    logger.info(totals, 'replay finished');
    return totals;
  } finally {
    await consumer?.disconnect();
    if (consumer) {
      await admin
        .deleteGroups([groupId])
        .catch((err) => logger.warn({ err, groupId }, 'could not delete the replay consumer group'));
    }
    await admin.disconnect();
  }
}

async function partitionRanges(
  admin: ReturnType<Kafka['admin']>,
  options: Pick<ReplayOptions, 'topic' | 'from'>,
): Promise<PartitionRange[]> {
  const ends = await admin.fetchTopicOffsets(options.topic);
  // By timestamp: Kafka answers the first offset stamped at or after it (the end offset when none is).
  const starts =
    'timestamp' in options.from
      ? await admin.fetchTopicOffsetsByTimestamp(options.topic, options.from.timestamp)
      : options.from.offsets;
  return ends.map(({ partition, low, high }) => {
    const start = starts.find((s) => s.partition === partition);
    const end = Number(high);
    // An offset already deleted by retention starts at the oldest one still there.
    const next = start ? Math.max(Number(start.offset), Number(low)) : end;
    return { partition, next, end, done: next >= end };
  });
}

function outcome() {
  let succeed!: () => void;
  let fail!: (err: unknown) => void;
  const state = {
    settled: false,
    promise: new Promise<void>((resolve, reject) => {
      succeed = resolve;
      fail = reject;
    }),
    succeed: () => {
      state.settled = true;
      succeed();
    },
    fail: (err: unknown) => {
      state.settled = true;
      fail(err);
    },
  };
  // A failure before the replay awaits the outcome is still reported there, not as unhandled.
  state.promise.catch(() => {});
  return state;
}

/** One round: parse, dead-letter the bad ones, insert the events not already in events_raw. */
async function replayRound(
  ch: ClickHouseClient,
  topic: string,
  round: Taken[],
): Promise<{ inserted: number; skipped: number; deadLetters: number }> {
  const events: (StoredEvent & { kafka_partition: number; kafka_offset: number; kafka_ts: string })[] = [];
  const dead: DeadLetterRow[] = [];
  for (const { partition, message } of round) {
    const kafka = {
      kafka_partition: partition,
      kafka_offset: Number(message.offset),
      kafka_ts: toClickHouseTime(Number(message.timestamp)),
    };
    const parsed = parseMessage(message.value);
    if (parsed.ok) for (const event of parsed.events) events.push({ ...event, ...kafka });
    else
      dead.push({
        kafka_topic: topic,
        ...kafka,
        raw_message: message.value?.toString('utf8') ?? '',
        error: parsed.error,
      });
  }

  const present = await existingEventIds(ch, events);
  const fresh = events.filter((e) => {
    const id = e.event_id.toLowerCase();
    if (present.has(id)) return false;
    present.add(id);
    return true;
  });
  if (fresh.length > 0) await ch.insert({ table: 'events_raw', values: fresh, format: 'JSONEachRow' });

  const recorded = await recordedDeadLetters(ch, topic, dead);
  const newDead = dead.filter((d) => !recorded.has(`${d.kafka_partition}:${d.kafka_offset}`));
  if (newDead.length > 0)
    await ch.insert({ table: 'events_dead_letter', values: newDead, format: 'JSONEachRow' });

  return { inserted: fresh.length, skipped: events.length - fresh.length, deadLetters: dead.length };
}

// ClickHouse would refuse these in JSONEachRow and fail the whole insert: they are checked here so
// one bad message is dead-lettered instead of stopping the replay.
const clickHouseTime = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/;
const decimal = /^-?\d{1,14}(?:\.\d{1,4})?$/;

/**
 * The events of one message: one JSON row each, on lines of their own (JSONEachRow, as ClickHouse's
 * Kafka engine reads it). Like that engine with kafka_handle_error_mode = 'stream', a message with
 * one bad row is dead-lettered whole, so a replay stores what the stream would have.
 */
export function parseMessage(value: Buffer | null): Parsed {
  if (!value || value.length === 0) return { ok: false, error: 'empty message' };
  const events: StoredEvent[] = [];
  const lines = value.toString('utf8').split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const parsed = parseRow(line);
    if (!parsed.ok)
      return { ok: false, error: lines.length > 1 ? `row ${index + 1}: ${parsed.error}` : parsed.error };
    events.push(parsed.event);
  }
  if (events.length === 0) return { ok: false, error: 'empty message' };
  return { ok: true, events };
}

function parseRow(line: string): { ok: true; event: StoredEvent } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const result = storedEventSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
    return { ok: false, error: `not a stored event: ${issues.join('; ')}` };
  }
  const event = result.data;
  const problems = [
    !clickHouseTime.test(event.ts) && 'ts: not YYYY-MM-DD hh:mm:ss.sss',
    !clickHouseTime.test(event.received_at) && 'received_at: not YYYY-MM-DD hh:mm:ss.sss',
    event.revenue_amount !== null &&
      !decimal.test(event.revenue_amount) &&
      'revenue_amount: not a Decimal(18, 4)',
    BigInt(event.visitor_id) >= 2n ** 64n && 'visitor_id: beyond UInt64',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) return { ok: false, error: `not a stored event: ${problems.join('; ')}` };
  return { ok: true, event };
}

/**
 * The ids of the round already in events_raw. The ts range of the round bounds the read to the
 * partitions and hours it can be in: a message already inserted has the same ts as in the topic.
 */
async function existingEventIds(ch: ClickHouseClient, events: StoredEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  let from = events[0]!.ts;
  let to = from;
  for (const { ts } of events) {
    if (ts < from) from = ts;
    if (ts > to) to = ts;
  }
  const result = await ch.query({
    query: `SELECT DISTINCT toString(event_id) AS id FROM events_raw
            WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts <= {to:DateTime64(3, 'UTC')}
              AND event_id IN {ids:Array(UUID)}`,
    query_params: { from, to, ids: events.map((e) => e.event_id) },
    format: 'JSONEachRow',
  });
  return new Set((await result.json<{ id: string }>()).map((r) => r.id));
}

interface DeadLetterRow {
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: number;
  kafka_ts: string;
  raw_message: string;
  error: string;
}

/** partition:offset of the round's bad messages already dead-lettered (by the Kafka engine or a replay). */
async function recordedDeadLetters(
  ch: ClickHouseClient,
  topic: string,
  dead: DeadLetterRow[],
): Promise<Set<string>> {
  if (dead.length === 0) return new Set();
  const result = await ch.query({
    query: `SELECT kafka_partition AS partition, kafka_offset AS offset FROM events_dead_letter
            WHERE kafka_topic = {topic:String} AND kafka_offset IN {offsets:Array(UInt64)}`,
    query_params: { topic, offsets: dead.map((d) => d.kafka_offset) },
    format: 'JSONEachRow',
  });
  return new Set(
    (await result.json<{ partition: number; offset: number }>()).map((r) => `${r.partition}:${r.offset}`),
  );
}
