-- The Lambda merge for breakdowns, defined once, here, for the API and for analysts alike: per
-- site, dimension, hour and value, the committed batch rows below the watermark and the speed
-- layer's rows from the watermark on (the same split as hourly_merged in 0011).
--
-- Unique visitors stay sketches of one type on both sides: any set of rows merges them with
-- uniqCombined64Merge(visitors_state), never by adding counts, so "visitors who saw /a or /b over
-- 30 days" is one merge over the rows of those values.
--
-- What each side has (the rollups differ, see 0006 and 0010):
--   visits, bounces    batch only, and only on entry_page and exit_page rows (a visit belongs to
--                      its entry and exit page); 0 in speed rows
--   entry_page         batch rows carry only visits and bounces; speed rows carry entries as
--                      pageviews and events
--   referrer_source, channel, utm_*: batch rows count every event, speed rows only entries
--   everything else    the same meaning on both sides (speed rows approximate: duplicates count)
-- A speed row may be one of several not yet merged rows of the same key: every reader aggregates.
CREATE VIEW IF NOT EXISTS dimensions_merged AS
SELECT site_id, dimension, hour, value, 'batch' AS source, pageviews, events, visitors_state, visits,
  bounces, revenue
FROM batch_dimensions_hourly
WHERE hour < (SELECT watermark FROM batch_watermark)
  AND (hour, run_id) IN (SELECT hour, run_id FROM batch_committed)
UNION ALL
SELECT site_id, dimension, hour, value, 'speed' AS source, pageviews, events, visitors AS visitors_state,
  toUInt64(0) AS visits, toUInt64(0) AS bounces, revenue
FROM speed_dimensions
WHERE hour >= (SELECT watermark FROM batch_watermark);
