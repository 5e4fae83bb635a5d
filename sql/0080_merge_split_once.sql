-- The analysts' merged views (0060) passed the watermark and the committed runs to the merge as two
-- subqueries, two reads of batch_commits: a commit landing between them could put an hour below the
-- watermark while its run was missing from the runs, and that hour was missing from the answer.
-- Both now come from one read, batch_split. (The API reads the watermark first and the runs below
-- it after, which has no such window.)
--
-- The watermark is the first committed hour whose next hour is not committed, plus one hour (as in
-- 0011), found in the sorted hours; batch_watermark becomes this view's, so the rule stays one.
CREATE OR REPLACE VIEW batch_split AS
SELECT
  if(empty(hours), toDateTime(0, 'UTC'),
    hours[arrayFirstIndex((h, next) -> next != h + INTERVAL 1 HOUR, hours,
      arrayPushBack(arrayPopFront(hours), toDateTime(0, 'UTC')))] + INTERVAL 1 HOUR) AS watermark,
  runs
FROM (SELECT arraySort(groupArray(hour)) AS hours, groupArray(run_id) AS runs FROM batch_committed);

CREATE OR REPLACE VIEW batch_watermark AS
SELECT watermark FROM batch_split;

CREATE OR REPLACE VIEW hourly_merged AS
WITH (SELECT (watermark, runs) FROM batch_split) AS split
SELECT * FROM default.hourly_merged_at(watermark = split.1, runs = CAST(split.2, 'Array(UUID)'));

CREATE OR REPLACE VIEW dimensions_merged AS
WITH (SELECT (watermark, runs) FROM batch_split) AS split
SELECT * FROM default.dimensions_merged_at(watermark = split.1, runs = CAST(split.2, 'Array(UUID)'));
