export * from './generator/index.js';
export { Ledger } from './soak/ledger.js';
export { runSoak, type SoakOptions, type SoakResult, soakSummary } from './soak/run.js';
export { postEvents, ServiceClient, seedSites, startProcess, stopProcess } from './soak/service-client.js';
