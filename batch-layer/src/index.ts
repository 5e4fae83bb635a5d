export * from './batch-layer.js';
export * from './recompute-hour.js';
export * from './watermark.js';
