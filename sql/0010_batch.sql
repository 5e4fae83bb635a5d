-- Batch layer: the authoritative numbers of closed hours, recomputed from events_raw (deduplicated
-- by event_id, bots excluded, sessions with a 30-minute inactivity rule). Every recompute of an
-- hour writes its rows under a new run_id; it becomes visible only when its single row in
-- batch_commits is written, which is atomic. Readers take, per hour, the rows of the committed run
-- and nothing else, so they see the old numbers or the new ones, never a mix, a gap or both.

-- Per site and hour. ORDER BY (site_id, hour, run_id): reads are one site over a range of hours,
-- joined to the committed run of each hour. PARTITION BY month: superseded runs are deleted per
-- month, and old months drop whole.
CREATE TABLE IF NOT EXISTS batch_hourly (
  site_id LowCardinality(String),
  hour DateTime('UTC'),
  run_id UUID,
  logic_version UInt16,
  pageviews UInt64,
  events UInt64,
  -- Exact distinct visitors of this hour, and a mergeable sketch of the same set, for ranges:
  -- uniques of several hours merge states, never add up hourly counts. The sketch type matches
  -- the speed layer's, so a range that is part batch, part speed merges too.
  visitors UInt64,
  visitors_state AggregateFunction(uniqCombined64, UInt64),
  -- Visits (sessions) are counted in the hour they start.
  visits UInt64,
  bounces UInt64,
  visit_duration_seconds UInt64,
  conversions UInt64,
  revenue Decimal(38, 4)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, hour, run_id);

-- Per site, hour, dimension and value. ORDER BY puts one site's one dimension over a range of
-- hours together: a breakdown reads one contiguous range.
CREATE TABLE IF NOT EXISTS batch_dimensions_hourly (
  site_id LowCardinality(String),
  hour DateTime('UTC'),
  run_id UUID,
  dimension LowCardinality(String),
  value String,
  pageviews UInt64,
  events UInt64,
  visitors UInt64,
  visitors_state AggregateFunction(uniqCombined64, UInt64),
  visits UInt64,
  bounces UInt64,
  revenue Decimal(38, 4)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, dimension, hour, value, run_id);

-- One row per committed recompute of an hour; the latest commit of an hour wins. Tiny: one row
-- per hour per recompute.
CREATE TABLE IF NOT EXISTS batch_commits (
  hour DateTime('UTC'),
  run_id UUID,
  logic_version UInt16,
  committed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(committed_at)
ORDER BY hour;

-- Every run, committed or not: what the status page and the metrics show.
CREATE TABLE IF NOT EXISTS batch_runs (
  hour DateTime('UTC'),
  run_id UUID,
  logic_version UInt16,
  reason LowCardinality(String),
  status LowCardinality(String),
  input_rows UInt64,
  output_rows UInt64,
  duration_ms UInt64,
  error String,
  finished_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, finished_at);

-- The committed run of each hour, for every reader (the API and analysts alike).
CREATE VIEW IF NOT EXISTS batch_committed AS
SELECT hour, latest.1 AS run_id, latest.2 AS logic_version, latest.3 AS committed_at
FROM (
  SELECT hour, argMax((run_id, logic_version, committed_at), committed_at) AS latest
  FROM batch_commits
  GROUP BY hour
);
