-- Goals: what a site counts as a conversion, either a custom event by name or a pageview whose path
-- matches a pattern ('/checkout/*'). Written by the admin API, read by every batch recompute, so a
-- new or changed goal applies to past hours once they are reprocessed.
--
-- page_regex is the anchored regular expression made from page_path when the goal is saved (in one
-- place, serving/src/routes/goals-admin.ts), so the recompute matches without re-parsing patterns.
-- ReplacingMergeTree by `version`: deleting a goal writes a row with deleted = true and a higher
-- version; readers use FINAL (a few rows per site).
CREATE TABLE IF NOT EXISTS site_goals (
  site_id String,
  name String,
  event_name String,
  page_path String,
  page_regex String,
  created_at DateTime64(3, 'UTC'),
  deleted Bool DEFAULT false,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, name);

-- The sites a run recomputed; empty for every site of the hour (the scheduled runs).
ALTER TABLE batch_runs ADD COLUMN IF NOT EXISTS sites Array(String) AFTER reason;

-- Every output row records the logic version that made it; batch_hourly had it from the start.
ALTER TABLE batch_dimensions_hourly ADD COLUMN IF NOT EXISTS logic_version UInt16 AFTER run_id;
