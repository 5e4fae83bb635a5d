/**
 * Before the ingest role starts alone: applies the schema to its embedded ClickHouse (DATA_DIR, from
 * the environment the role will get) and registers the benchmark's site, which a serving process
 * would otherwise create. Runs in a child process because chDB keeps its data folder until exit.
 * Prints the site's id.
 */
import { createClickHouse, createLogger, createSite, loadConfig } from '@sightline/core';
import { importSpeedLayer } from '../speed/runtime-imports.js';

const config = loadConfig(process.env);
const ch = createClickHouse(config);
await (await importSpeedLayer()).applySchema(ch, config, createLogger(config));
const site = await createSite(ch, { domain: 'bench.example', timezone: 'UTC', allowed_hostnames: [] });
await ch.close();
process.stdout.write(site.site_id);
