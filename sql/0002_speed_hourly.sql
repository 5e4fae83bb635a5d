-- Speed layer, per site and hour: fed by a materialized view on every insert into events_raw, so
-- numbers are live within seconds. Approximate by design (duplicates count, bots are excluded by
-- the flag set at ingest); the batch layer replaces closed hours with exact numbers.
--
-- AggregatingMergeTree keeps mergeable states: sums for counts and a uniq sketch for visitors, so
-- a range of hours merges without summing per-hour uniques.
-- ORDER BY (site_id, hour): every read is one site over a time range.
-- PARTITION BY month: few parts, and old months drop whole.
CREATE TABLE IF NOT EXISTS speed_hourly (
  site_id LowCardinality(String),
  hour DateTime('UTC'),
  pageviews SimpleAggregateFunction(sum, UInt64),
  events SimpleAggregateFunction(sum, UInt64),
  visitors AggregateFunction(uniqCombined64, UInt64),
  revenue SimpleAggregateFunction(sum, Decimal(38, 4))
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_speed_hourly TO speed_hourly AS
SELECT
  site_id,
  toStartOfHour(ts) AS hour,
  toUInt64(countIf(name = 'pageview')) AS pageviews,
  toUInt64(count()) AS events,
  uniqCombined64State(visitor_id) AS visitors,
  toDecimal128(sum(ifNull(revenue_amount, 0)), 4) AS revenue
FROM events_raw
WHERE NOT is_bot
GROUP BY site_id, hour;
