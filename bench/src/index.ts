export * from './generator/index.js';
export { startProcess, stopProcess } from './ingest/service-process.js';
export { Ledger } from './soak/ledger.js';
export { runSoak, type SoakOptions, type SoakResult, soakSummary } from './soak/run.js';
export { postEvents, ServiceClient, seedSites } from './soak/service-client.js';
