-- ClickHouse's own Kafka consumer: reads the events topic, and the views below push each block
-- into events_raw (and from there into the speed rollups). Created after its target tables, since
-- the consumer starts as soon as a view is attached.
--
-- kafka_handle_error_mode = 'stream': a message that does not parse becomes a row with _error set
-- instead of an exception that would stop the stream; it goes to events_dead_letter.
-- kafka_flush_interval_ms = 1000: a block is pushed at least every second (freshness in seconds),
-- or earlier when kafka_max_block_size messages are waiting.
-- Offsets are committed after the views' inserts succeed (at-least-once); the batch layer
-- deduplicates by event_id.
CREATE TABLE IF NOT EXISTS events_queue (
  event_id UUID,
  site_id String,
  name String,
  ts DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  url String,
  hostname String,
  pathname String,
  referrer String,
  props Map(String, String),
  revenue_amount Nullable(Decimal(18, 4)),
  revenue_currency String,
  interactive Bool,
  referrer_source String,
  channel String,
  utm_source String,
  utm_medium String,
  utm_campaign String,
  utm_content String,
  utm_term String,
  browser String,
  browser_version String,
  os String,
  device String,
  country String,
  is_bot Bool,
  visitor_id UInt64,
  enrich_version UInt16,
  raw String
) ENGINE = Kafka
SETTINGS
  kafka_broker_list = '{{kafka_brokers}}',
  kafka_topic_list = '{{events_topic}}',
  kafka_group_name = '{{consumer_group}}',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = {{kafka_consumers}},
  kafka_max_block_size = 65536,
  kafka_flush_interval_ms = 1000,
  kafka_handle_error_mode = 'stream';

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_events_raw TO events_raw AS
SELECT
  *,
  _partition AS kafka_partition,
  _offset AS kafka_offset,
  ifNull(_timestamp_ms, now64(3)) AS kafka_ts
FROM events_queue
WHERE length(_error) = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_events_dead_letter TO events_dead_letter AS
SELECT
  _topic AS kafka_topic,
  _partition AS kafka_partition,
  _offset AS kafka_offset,
  ifNull(_timestamp_ms, now64(3)) AS kafka_ts,
  _raw_message AS raw_message,
  _error AS error
FROM events_queue
WHERE length(_error) > 0;
