-- The analysts' breakdowns: per site, dimension, hour and value, the Lambda merge of
-- dimensions_merged (0030, 0031: what each side counts is described there). Unique visitors of
-- any set of rows: uniqCombined64Merge(visitors_state).
CREATE VIEW IF NOT EXISTS analyst.dimensions AS
SELECT site_id, dimension, hour, value, source, pageviews, events, visitors_state, visits, bounces, revenue
FROM dimensions_merged;
