export * from './plugin.js';
export type { BatchControl } from './routes/batch-admin.js';
export { errorSchema, openApiDocs } from './routes/docs.js';
export type { ReplayControl } from './routes/replay-admin.js';
export * from './timeseries.query.js';
