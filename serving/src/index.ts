export * from './plugin.js';
export * from './timeseries.query.js';
