export * from './durable-sink.js';
export * from './enrich.js';
export * from './event-producer.js';
export * from './plugin.js';
export * from './spool.js';
export * from './visitor-salt.js';
