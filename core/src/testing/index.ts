export * from './events.js';
export * from './stack-env.js';
export * from './streamless.js';
