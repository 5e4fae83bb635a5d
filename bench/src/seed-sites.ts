/**
 * Run as a child process with a role's environment: applies the schema to DATA_DIR's chDB and stores
 * the sites given as JSON in argv[2]. An ingest role running without a serving process beside it (a
 * benchmark, an instance of a rolling restart) has a chDB of its own that needs the sites; in a
 * cluster every instance reads the one sites table. A child process, because only one process may
 * open a chDB directory, and chDB keeps it until that process exits.
 */
import { createClickHouse, createLogger, loadConfig, type Site, storeSites } from '@sightline/core';
import { importSpeedLayer } from './speed/runtime-imports.js';

const config = loadConfig(process.env);
const ch = createClickHouse(config);
await (await importSpeedLayer()).applySchema(ch, config, createLogger(config));
await storeSites(ch, JSON.parse(process.argv[2] ?? '[]') as Site[]);
await ch.close();
