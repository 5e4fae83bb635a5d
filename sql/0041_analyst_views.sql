-- The analysts' schema: the database `analyst`, views over the Lambda-merged rollups and the raw
-- events. POST /v1/sql lets a key read only these, each restricted to the key's sites; the cluster
-- mode's analyst users (npm run analyst-user) get SELECT on them and row policies on site_id.
-- Columns are the documented interface (README, "SQL for analysts"): add views or columns in new
-- migrations, never rename.
CREATE DATABASE IF NOT EXISTS analyst;

-- Per site and hour, batch numbers below the watermark and live ones from it on (hourly_merged).
-- Unique visitors of any range: uniqCombined64Merge(visitors_state), never a sum.
CREATE VIEW IF NOT EXISTS analyst.hourly AS
SELECT site_id, hour, source, pageviews, events, visitors_state, visits, bounces, visit_duration_seconds,
  revenue
FROM hourly_merged;

-- Every event as stored (duplicates from client retries included; bots flagged by is_bot). The
-- original payload and the Kafka bookkeeping are left out.
CREATE VIEW IF NOT EXISTS analyst.events AS
SELECT event_id, site_id, name, ts, received_at, url, hostname, pathname, referrer, props, revenue_amount,
  revenue_currency, interactive, referrer_source, channel, utm_source, utm_medium, utm_campaign,
  utm_content, utm_term, browser, browser_version, os, device, country, is_bot, visitor_id
FROM events_raw;

-- The sites, for their time zones and domains.
CREATE VIEW IF NOT EXISTS analyst.sites AS
SELECT site_id, domain, timezone, created_at
FROM sites FINAL
WHERE NOT deleted;

-- The first hour not yet authoritative (every hour before it is committed by the batch layer).
CREATE VIEW IF NOT EXISTS analyst.watermark AS
SELECT watermark FROM batch_watermark;
