export * from './plugin.js';
export type { BatchControl } from './routes/batch-admin.js';
export * from './timeseries.query.js';
