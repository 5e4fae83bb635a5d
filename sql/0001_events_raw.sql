-- The immutable record of every event, as the ingest service enriched it, with the original
-- request kept in `raw` so any derived column can be rebuilt (reprocessing) without Kafka.
--
-- PARTITION BY day of event time: late events (up to 72 h) land in recent partitions, old days
-- can be dropped or moved whole, and a batch hour reads one partition.
-- ORDER BY hour first: the batch layer reads all sites of one hour, a contiguous range; site next,
-- so a site's events inside an hour are contiguous for per-site scans; visitor then time, so a
-- visitor's events sit together for sessionisation.
CREATE TABLE IF NOT EXISTS events_raw (
  event_id UUID,
  site_id LowCardinality(String),
  name LowCardinality(String),
  ts DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  url String CODEC(ZSTD(3)),
  hostname LowCardinality(String),
  pathname String CODEC(ZSTD(3)),
  referrer String CODEC(ZSTD(3)),
  props Map(LowCardinality(String), String),
  revenue_amount Nullable(Decimal(18, 4)),
  revenue_currency LowCardinality(String),
  interactive Bool,
  referrer_source LowCardinality(String),
  channel LowCardinality(String),
  utm_source LowCardinality(String),
  utm_medium LowCardinality(String),
  utm_campaign LowCardinality(String),
  utm_content LowCardinality(String),
  utm_term LowCardinality(String),
  browser LowCardinality(String),
  browser_version LowCardinality(String),
  os LowCardinality(String),
  device LowCardinality(String),
  country LowCardinality(String),
  is_bot Bool,
  visitor_id UInt64,
  enrich_version UInt16,
  raw String CODEC(ZSTD(6)),
  kafka_partition UInt32,
  kafka_offset UInt64,
  kafka_ts DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (toStartOfHour(ts), site_id, visitor_id, ts);

-- Messages the Kafka engine could not parse, with the raw bytes and the parser's error, so one bad
-- message never blocks the stream and is never silently lost. Kept 30 days for inspection.
CREATE TABLE IF NOT EXISTS events_dead_letter (
  kafka_topic LowCardinality(String),
  kafka_partition UInt32,
  kafka_offset UInt64,
  kafka_ts DateTime64(3, 'UTC'),
  raw_message String CODEC(ZSTD(3)),
  error String,
  recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(recorded_at)
ORDER BY (recorded_at, kafka_partition, kafka_offset)
TTL toDateTime(recorded_at) + INTERVAL 30 DAY;
