import type { ClickHouseClient, Kafka } from '@sightline/core';

export interface StreamStatus {
  /** Messages in the topic not yet committed by ClickHouse's consumer group. */
  lag: number;
  deadLetters: number;
}

/** Lag from Kafka's own bookkeeping (end offsets minus the group's commits), dead letters from ClickHouse. */
export async function streamStatus(
  kafka: Kafka,
  ch: ClickHouseClient,
  topic: string,
  group: string,
): Promise<StreamStatus> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    ]);
    const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const lag = ends.reduce((sum, p) => {
      const at = done.get(p.partition) ?? -1;
      return sum + Number(p.high) - (at < 0 ? Number(p.low) : at);
    }, 0);
    const rows = await (
      await ch.query({ query: 'SELECT count() AS n FROM events_dead_letter', format: 'JSONEachRow' })
    ).json<{ n: number | string }>();
    return { lag, deadLetters: Number(rows[0]?.n ?? 0) };
  } finally {
    await admin.disconnect();
  }
}
