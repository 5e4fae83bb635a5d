-- The Lambda merge rule, defined once, here, for the API and for analysts alike.
--
-- The watermark is the first hour the batch layer has not committed: the hour after the first
-- committed hour whose successor is not committed. Every hour before it is authoritative.
-- 1970-01-01 while nothing is committed (then every hour is live).
CREATE VIEW IF NOT EXISTS batch_watermark AS
SELECT if(count() = 0, toDateTime(0, 'UTC'), min(hour) + INTERVAL 1 HOUR) AS watermark
FROM batch_committed
WHERE hour + INTERVAL 1 HOUR NOT IN (SELECT hour FROM batch_committed);

-- Per site and hour: the committed batch numbers below the watermark, the speed layer's from the
-- watermark on. Unique visitors stay sketches of one type in both, so any range merges them with
-- uniqCombined64Merge(visitors_state) instead of adding hourly counts. Visits, bounces and
-- durations come from sessions, which only the batch layer computes (0 in live hours).
CREATE VIEW IF NOT EXISTS hourly_merged AS
SELECT site_id, hour, 'batch' AS source, pageviews, events, visitors_state, visits, bounces,
  visit_duration_seconds, revenue
FROM batch_hourly
WHERE hour < (SELECT watermark FROM batch_watermark)
  AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
UNION ALL
SELECT site_id, hour, 'speed' AS source, pageviews, events, visitors AS visitors_state, toUInt64(0) AS visits,
  toUInt64(0) AS bounces, toUInt64(0) AS visit_duration_seconds, revenue
FROM speed_hourly
WHERE hour >= (SELECT watermark FROM batch_watermark);
