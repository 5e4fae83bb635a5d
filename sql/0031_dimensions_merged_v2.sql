-- dimensions_merged again, the same rows, with the description of batch logic version 2 (goals,
-- acquisition from the visit); it supersedes the notes in 0030.
--
-- What each side has:
--   every dimension    pageviews, events, visitors_state, revenue
--   entry_page, exit_page, referrer_source, channel, utm_*: dimensions of the visit. Batch rows
--                      count the visits that started in the hour with that entry, exit or source
--                      (visits, bounces, and the visits' pageviews, events, visitors and revenue);
--                      speed rows count entries (see 0006) and have no visits or bounces, and the
--                      speed layer has no exit_page
--   goal               batch only: per goal, the events that reached it and the visitors who did
--                      (the conversions); the speed layer knows no goals
--   page, event_name, country, browser, os, device, prop:<key>: per event on both sides (speed
--                      rows approximate: duplicates count)
-- A speed row may be one of several not yet merged rows of the same key: every reader aggregates.
CREATE OR REPLACE VIEW dimensions_merged AS
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
