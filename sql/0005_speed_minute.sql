-- Speed layer, per site and minute, for the realtime view: current visitors (the last few minutes)
-- and the last 30 minutes minute by minute. Fed like speed_hourly by a view on events_raw, so a
-- minute is visible within seconds; approximate in the same way (duplicates count, bots excluded by
-- the flag set at ingest). Never read for closed hours: the hourly and batch rollups serve those.
--
-- ORDER BY (site_id, minute): every read is one site's last minutes, a contiguous range.
-- PARTITION BY day: with the TTL below, whole days expire, and ttl_only_drop_parts drops their
-- parts as files instead of rewriting them row by row.
-- TTL 3 days: the realtime view needs half an hour; the margin covers a paused stream being
-- replayed and a look back at yesterday while debugging, and keeps the table tiny.
CREATE TABLE IF NOT EXISTS speed_minute (
  site_id LowCardinality(String),
  minute DateTime('UTC'),
  pageviews SimpleAggregateFunction(sum, UInt64),
  events SimpleAggregateFunction(sum, UInt64),
  visitors AggregateFunction(uniqCombined64, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(minute)
ORDER BY (site_id, minute)
TTL minute + INTERVAL 3 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_speed_minute TO speed_minute AS
SELECT
  site_id,
  toStartOfMinute(ts) AS minute,
  toUInt64(countIf(name = 'pageview')) AS pageviews,
  toUInt64(count()) AS events,
  uniqCombined64State(visitor_id) AS visitors
FROM events_raw
WHERE NOT is_bot
GROUP BY site_id, minute;
