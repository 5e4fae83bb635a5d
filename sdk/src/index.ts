export * from './node-client.js';
export * from './tracker/index.js';
