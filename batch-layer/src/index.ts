export * from './batch-layer.js';
export * from './cleanup.js';
export * from './rebuild-raw.js';
export * from './rebuild-rollups.js';
export * from './recompute-hour.js';
export * from './watermark.js';
