-- The sites events may be sent for. Written by the admin API, read by ingest (cached) and serving.
-- ReplacingMergeTree by `version`: an update is a new row with a higher version, read with FINAL;
-- the table is tiny (one row per site), so FINAL costs nothing.
CREATE TABLE IF NOT EXISTS sites (
  site_id String,
  domain String,
  timezone LowCardinality(String),
  allowed_hostnames Array(String),
  created_at DateTime64(3, 'UTC'),
  deleted Bool DEFAULT false,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site_id;
