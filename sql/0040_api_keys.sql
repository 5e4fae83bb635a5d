-- API keys of the query API. Only a SHA-256 of each key is kept (keys are 256-bit random strings,
-- so a plain hash is enough: there is nothing to brute-force). ReplacingMergeTree by `version`:
-- revoking writes the row again with revoked_at set and a higher version, read with FINAL.
-- ORDER BY key_hash: every authenticated request looks its key up by hash (cached for seconds).
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash String,
  key_id String,
  name String,
  -- The first characters of the key, to tell keys apart in lists without showing them.
  prefix String,
  scope LowCardinality(String),
  sites Array(String),
  created_at DateTime64(3, 'UTC'),
  expires_at Nullable(DateTime64(3, 'UTC')),
  revoked_at Nullable(DateTime64(3, 'UTC')),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY key_hash;
