export { dailyShare, TROUGH_SHARE } from './daily-cycle.js';
export { generatorDefaults } from './options.js';
export { createRandom, type Random, type WeightedPick, weightedPick, zipfWeights } from './random.js';
export { type Summary, summarize, type TrafficSummary } from './summarize.js';
export { generateTraffic } from './traffic.js';
export type { GeneratedRequest, GeneratorOptions } from './types.js';
export { defaultDataDir, loadUserAgents, type UserAgents } from './user-agents.js';
