-- The Lambda merge rule of 0011 and 0031, now defined once as parameterised views that take the
-- watermark and the committed runs: hours before the watermark from the batch rows of their
-- committed run, hours from it on from the speed layer.
--
-- Why parameters: the query API reads the watermark once a second, and the committed runs when
-- they change, and states the watermark in every answer; passing those values makes the split the
-- one the answer reports, and spares each query the subqueries over batch_commits (the watermark's
-- were evaluated once per side of the union; together several milliseconds of a query that
-- otherwise reads a few hundred rollup rows). The API passes only the runs of the hours its range
-- covers. A run superseded by a reprocess keeps its rows for the batch cleanup's grace period
-- (minutes), so a list read a second ago still finds every row it names.
--
-- hourly_merged and dimensions_merged, which the analysts' views read, become these views at the
-- current watermark and runs, so the API and analyst SQL share one definition of the merge. (The
-- CAST is what makes ClickHouse accept an array subquery as a view's argument. The database is
-- named because ClickHouse resolves a parameterised view like a table function, in the database of
-- the reader's session, and analyst SQL runs in another.)
CREATE OR REPLACE VIEW hourly_merged_at AS
SELECT site_id, hour, 'batch' AS source, pageviews, events, visitors_state, visits, bounces,
  visit_duration_seconds, revenue
FROM batch_hourly
WHERE hour < {watermark:DateTime('UTC')}
  AND run_id IN {runs:Array(UUID)}
UNION ALL
SELECT site_id, hour, 'speed' AS source, pageviews, events, visitors AS visitors_state, toUInt64(0) AS visits,
  toUInt64(0) AS bounces, toUInt64(0) AS visit_duration_seconds, revenue
FROM speed_hourly
WHERE hour >= {watermark:DateTime('UTC')};

-- What each side of a breakdown row holds is described in 0031.
CREATE OR REPLACE VIEW dimensions_merged_at AS
SELECT site_id, dimension, hour, value, 'batch' AS source, pageviews, events, visitors_state, visits,
  bounces, revenue
FROM batch_dimensions_hourly
WHERE hour < {watermark:DateTime('UTC')}
  AND run_id IN {runs:Array(UUID)}
UNION ALL
SELECT site_id, dimension, hour, value, 'speed' AS source, pageviews, events, visitors AS visitors_state,
  toUInt64(0) AS visits, toUInt64(0) AS bounces, revenue
FROM speed_dimensions
WHERE hour >= {watermark:DateTime('UTC')};

CREATE OR REPLACE VIEW hourly_merged AS
SELECT * FROM default.hourly_merged_at(
  watermark = (SELECT watermark FROM batch_watermark),
  runs = CAST((SELECT groupArray(run_id) FROM batch_committed), 'Array(UUID)')
);

CREATE OR REPLACE VIEW dimensions_merged AS
SELECT * FROM default.dimensions_merged_at(
  watermark = (SELECT watermark FROM batch_watermark),
  runs = CAST((SELECT groupArray(run_id) FROM batch_committed), 'Array(UUID)')
);
