-- Speed layer breakdowns: per site, hour, dimension and value, the numbers behind "top pages",
-- "top sources", "countries", "custom prop values" and the like. Fed by a view on events_raw that
-- turns each event into one row per dimension it has a value for (ARRAY JOIN), so one table and one
-- query shape serve every dimension. Approximate like the other speed rollups; the batch layer
-- replaces closed hours with session-based numbers.
--
-- Dimensions and values:
--   page              pathname, of every event (a custom event counts on the page it happened on;
--                     `pageviews` counts only the pageviews)
--   entry_page        pathname, of entries only
--   referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term:
--                     of entries only. Acquisition belongs to the visit, not to each pageview: ingest
--                     classifies an internal click as referrer_source '' / channel 'direct', so
--                     counting every event would turn each visit's second pageview into a direct one.
--                     Their `pageviews` and `events` are the entries (the batch layer's sessions give
--                     the full visit); `visitors` are the visitors who arrived that way.
--   country, browser, os, device, event_name (name): of every event
--   prop:<key>        the prop's value, of every event that has the prop
--
-- Empty values: referrer_source '' is "Direct / None" and country, browser, os and device '' are
-- "(not set)"; every event has these columns, so '' is kept as a value and a breakdown adds up to
-- the total. A UTM tag or prop that is '' was not there: no row. (page and event_name are never
-- empty: ingest turns '' into '/' and refuses an empty name.)
--
-- Entry (the speed layer's approximation of a visit start, no sessions across events): a pageview
-- whose referrer is empty or another host than the page's own (ingest stores hostname without
-- "www."; the referrer is compared the same way). Misses: a visit resumed after 30 minutes idle by
-- an internal click is no entry here, and a single-page app that keeps document.referrer makes
-- every client-side navigation look like an entry. The batch layer counts real visits.
--
-- ORDER BY (site_id, dimension, hour, value): the one read is "top values of one dimension for one
-- site over a time range", i.e. WHERE site_id = ? AND dimension = ? AND hour in [from, to) GROUP
-- BY value; with the key in that order it is one contiguous range of the table. value comes last
-- because it is what the read groups by, and it must be in the key for AggregatingMergeTree to
-- merge the rows of one (site, dimension, hour, value).
-- PARTITION BY month: like speed_hourly, few parts and old months drop whole; a range of hours
-- touches one or two partitions.
CREATE TABLE IF NOT EXISTS speed_dimensions (
  site_id LowCardinality(String),
  dimension LowCardinality(String),
  hour DateTime('UTC'),
  value String CODEC(ZSTD(3)),
  pageviews SimpleAggregateFunction(sum, UInt64),
  events SimpleAggregateFunction(sum, UInt64),
  entries SimpleAggregateFunction(sum, UInt64),
  visitors AggregateFunction(uniqCombined64, UInt64),
  revenue SimpleAggregateFunction(sum, Decimal(38, 4))
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, dimension, hour, value);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_speed_dimensions TO speed_dimensions AS
WITH name = 'pageview' AND (referrer = '' OR domainWithoutWWW(referrer) != hostname) AS is_entry
SELECT
  site_id,
  dimension_value.1 AS dimension,
  toStartOfHour(ts) AS hour,
  dimension_value.2 AS value,
  toUInt64(countIf(name = 'pageview')) AS pageviews,
  toUInt64(count()) AS events,
  toUInt64(countIf(is_entry)) AS entries,
  uniqCombined64State(visitor_id) AS visitors,
  toDecimal128(sum(ifNull(revenue_amount, 0)), 4) AS revenue
FROM events_raw
ARRAY JOIN arrayFilter(
  d -> d.2 != '' OR d.1 IN ('referrer_source', 'country', 'browser', 'os', 'device'),
  arrayConcat(
    [
      ('page', toString(pathname)),
      ('event_name', toString(name)),
      ('country', toString(country)),
      ('browser', toString(browser)),
      ('os', toString(os)),
      ('device', toString(device))
    ],
    if(
      is_entry,
      [
        ('entry_page', toString(pathname)),
        ('referrer_source', toString(referrer_source)),
        ('channel', toString(channel)),
        ('utm_source', toString(utm_source)),
        ('utm_medium', toString(utm_medium)),
        ('utm_campaign', toString(utm_campaign)),
        ('utm_content', toString(utm_content)),
        ('utm_term', toString(utm_term))
      ],
      []
    ),
    arrayMap((k, v) -> (concat('prop:', toString(k)), v), mapKeys(props), mapValues(props))
  )
) AS dimension_value
WHERE NOT is_bot
GROUP BY site_id, dimension, hour, value;
