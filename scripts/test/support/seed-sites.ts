/**
 * Run as a child process with a role's environment: applies the migrations to DATA_DIR's chDB and
 * stores the sites given as JSON in argv[2]. An ingest instance on one machine has a chDB of its own
 * (only one process may open a chDB directory, and only once); in a cluster every instance reads the
 * one sites table.
 */
import { createClickHouse, createLogger, loadConfig, type Site } from '@sightline/core';
import { applySchema } from '@sightline/speed-layer';

const config = loadConfig(process.env);
const ch = createClickHouse(config);
await applySchema(ch, config, createLogger(config));
const sites = JSON.parse(process.argv[2] ?? '[]') as Site[];
await ch.insert({
  table: 'sites',
  values: sites.map((site) => ({ ...site, version: Date.now() })),
  format: 'JSONEachRow',
});
await ch.close();
