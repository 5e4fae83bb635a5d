import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The batch watermark as the view batch_watermark defines it (sql/0011): the first hour the batch
 * layer has not committed. Null while nothing is committed. The batch layer plans from it and the
 * API reports it, so both read it here.
 */
export async function readWatermark(ch: ClickHouseClient): Promise<Date | null> {
  const [row] = await (
    await ch.query({
      query: 'SELECT toUnixTimestamp(watermark) AS w FROM batch_watermark',
      format: 'JSONEachRow',
    })
  ).json<{ w: number }>();
  const seconds = Number(row?.w ?? 0);
  return seconds > 0 ? new Date(seconds * 1000) : null;
}
