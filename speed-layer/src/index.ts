export * from './lag-monitor.js';
export * from './replay.js';
export * from './replay-runner.js';
export * from './schema.js';
export * from './stream-status.js';
