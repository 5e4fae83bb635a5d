import { randomBytes } from 'node:crypto';
import { type ClickHouseClient, type EventInput, limits, type StoredEvent } from '@sightline/core';
import { createEnricher, toStoredEvent } from '@sightline/ingest';

const DAY_MS = 86_400_000;
/** Rows read, re-enriched and written at a time: bounded memory whatever the size of an hour. */
const SLICE_ROWS = 50_000;

/**
 * What the rebuild needs of ingest: the function that turns a body and the request facts into the
 * stored event, and its enricher. By default ingest's own (ingestEnrichment), so a rebuilt row is
 * what ingest would store today.
 */
export interface Enrichment {
  toStoredEvent(
    input: EventInput,
    ts: number,
    facts: {
      ip: string;
      userAgent: string;
      country: string;
      acceptLanguage: string | undefined;
      receivedAt: number;
    },
    salt: Buffer,
    enricher: unknown,
  ): StoredEvent;
  createEnricher(): unknown;
}

export const ingestEnrichment: Enrichment = { toStoredEvent, createEnricher };

/** The columns enrichment derives: a rebuilt row that differs in one of them is counted as changed. */
const derivedColumns = [
  'hostname',
  'pathname',
  'interactive',
  'referrer_source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'browser',
  'browser_version',
  'os',
  'device',
  'country',
  'is_bot',
] as const;

type StoredRow = StoredEvent & { kafka_partition: number; kafka_offset: number; kafka_ts: string };

/** The raw payload as ingest writes it (ingest/src/enrich.ts). */
interface RawPayload {
  body: EventInput;
  user_agent: string;
  country: string;
  accept_language: string | null;
}

/**
 * One row again from its raw payload with the current enrichment. Kept from the stored row: what
 * the payload cannot give (the visitor id, made from the IP, which is never stored), what ingest
 * decided once (event id, event time, arrival time) and the Kafka coordinates. A row whose payload
 * does not parse stays as it is.
 */
export function rederive(row: StoredRow, enrichment: Enrichment, enricher: unknown): StoredRow | undefined {
  let raw: RawPayload;
  try {
    raw = JSON.parse(row.raw) as RawPayload;
    if (typeof raw?.body?.url !== 'string') return undefined;
  } catch {
    return undefined;
  }
  const receivedAt = Date.parse(`${row.received_at.replace(' ', 'T')}Z`);
  const event = enrichment.toStoredEvent(
    raw.body,
    Date.parse(`${row.ts.replace(' ', 'T')}Z`),
    {
      ip: '',
      userAgent: raw.user_agent,
      country: raw.country,
      acceptLanguage: raw.accept_language ?? undefined,
      receivedAt,
    },
    unusedSalt,
    enricher,
  );
  return {
    ...event,
    event_id: row.event_id,
    site_id: row.site_id,
    ts: row.ts,
    received_at: row.received_at,
    visitor_id: row.visitor_id,
    raw: row.raw,
    kafka_partition: row.kafka_partition,
    kafka_offset: row.kafka_offset,
    kafka_ts: row.kafka_ts,
  };
}
/** toStoredEvent derives the visitor id from it; the rebuild keeps the stored visitor id instead. */
const unusedSalt = randomBytes(32);

export type RebuildOutcome =
  | { ok: true; day: string; rows: number; rebuilt: number; changed: number; kept: number }
  | { ok: false; reason: string };

/**
 * Rebuilds one day of events_raw (one partition) from the raw payloads with the current enrichment
 * code, into events_raw_rebuild, and swaps it in with REPLACE PARTITION: readers see the old day or
 * the new one, never a mix, and no Kafka is involved. The speed rollups are left as they are (they
 * are approximate and live); reprocess the day afterwards for the batch numbers.
 *
 * Only days that can no longer receive events are rebuilt: ingest accepts events up to 72 hours
 * old, and an event written into the day between the read and the swap would be lost by the swap.
 */
export async function rebuildRawDay(
  ch: ClickHouseClient,
  day: Date,
  options: { now?: number; enrichment?: Enrichment } = {},
): Promise<RebuildOutcome> {
  const start = Math.floor(day.getTime() / DAY_MS) * DAY_MS;
  const now = options.now ?? Date.now();
  const latest = now - limits.maxAgeMs - 3600_000;
  if (start + DAY_MS > latest) {
    return {
      ok: false,
      reason: `${new Date(start).toISOString().slice(0, 10)} can still receive late events (up to 72 hours old); rebuild days that ended before ${new Date(latest).toISOString()}`,
    };
  }
  const partition = new Date(start).toISOString().slice(0, 10).replaceAll('-', '');
  const enrichment = options.enrichment ?? ingestEnrichment;
  const enricher = enrichment.createEnricher();
  await ch.command({ query: 'CREATE TABLE IF NOT EXISTS events_raw_rebuild AS events_raw' });
  await ch.command({ query: 'TRUNCATE TABLE events_raw_rebuild' });

  const params = { day: partition };
  const [{ n }] = (await (
    await ch.query({
      query: 'SELECT count() AS n FROM events_raw WHERE toYYYYMMDD(ts) = {day:UInt32}',
      query_params: params,
      format: 'JSONEachRow',
    })
  ).json<{ n: number }>()) as [{ n: number }];
  const rows = Number(n);
  const slices = Math.max(1, Math.ceil(rows / SLICE_ROWS));
  let rebuilt = 0;
  let changed = 0;
  let kept = 0;
  for (let slice = 0; slice < slices; slice += 1) {
    const stored = await (
      await ch.query({
        query: `SELECT * FROM events_raw
                WHERE toYYYYMMDD(ts) = {day:UInt32} AND cityHash64(event_id, kafka_offset) % {slices:UInt32} = {slice:UInt32}
                -- Visitor ids are UInt64: as JSON numbers they would lose digits on the way back.
                -- In the statement: chDB runs clickhouse_settings as SETs that stay on the connection.
                SETTINGS output_format_json_quote_64bit_integers = 1`,
        query_params: { ...params, slices, slice },
        format: 'JSONEachRow',
      })
    ).json<StoredRow>();
    const values = stored.map((row) => {
      const again = rederive(row, enrichment, enricher);
      if (!again) {
        kept += 1;
        return row;
      }
      rebuilt += 1;
      if (derivedColumns.some((c) => String(again[c]) !== String(row[c]))) changed += 1;
      return again;
    });
    if (values.length) await ch.insert({ table: 'events_raw_rebuild', values, format: 'JSONEachRow' });
  }
  const [{ m }] = (await (
    await ch.query({
      query: 'SELECT count() AS m FROM events_raw_rebuild WHERE toYYYYMMDD(ts) = {day:UInt32}',
      query_params: params,
      format: 'JSONEachRow',
    })
  ).json<{ m: number }>()) as [{ m: number }];
  if (Number(m) !== rows) throw new Error(`rebuild of ${partition}: ${m} rows written for ${rows} read`);
  // The partition id is the day's digits, made above from a Date: not user input.
  await ch.command({
    query: `ALTER TABLE events_raw REPLACE PARTITION ID '${partition}' FROM events_raw_rebuild`,
  });
  await ch.command({ query: 'TRUNCATE TABLE events_raw_rebuild' });
  return { ok: true, day: new Date(start).toISOString().slice(0, 10), rows, rebuilt, changed, kept };
}
