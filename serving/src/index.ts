export { type AnalystUser, analystUserSql, readSchema, type SchemaRelation } from './analyst-user.js';
export { type BatchVersion, ResponseCache, readBatchVersion } from './cache.js';
export * from './plugin.js';
export * from './query/index.js';
export type { BatchControl } from './routes/batch-admin.js';
export { errorSchema, openApiDocs } from './routes/docs.js';
export type { ReplayControl } from './routes/replay-admin.js';
