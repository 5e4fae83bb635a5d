export * from './schema.js';
export * from './stream-status.js';
