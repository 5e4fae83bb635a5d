import type { GeneratorOptions } from './types.js';

export type ResolvedOptions = Required<Omit<GeneratorOptions, 'dataDir'>> & Pick<GeneratorOptions, 'dataDir'>;

export const generatorDefaults = {
  zipfExponent: 1.1,
  eventsPerSecond: 50,
  botShare: 0.05,
  duplicateShare: 0.02,
  lateShare: 0.01,
  hostnameFor: (siteId: string) => `${siteId}.example`,
} as const;

/**
 * Fills in defaults; a bad option is a programming error in the caller, so it throws. Site ids are
 * not checked against the event contract: the generator imports @sightline/core for types only
 * (its runtime pulls in database clients), and a test may want bodies that ingest rejects.
 */
export function resolveOptions(options: GeneratorOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    seed: options.seed,
    sites: options.sites,
    start: options.start,
    durationMs: options.durationMs,
    zipfExponent: options.zipfExponent ?? generatorDefaults.zipfExponent,
    eventsPerSecond: options.eventsPerSecond ?? generatorDefaults.eventsPerSecond,
    botShare: options.botShare ?? generatorDefaults.botShare,
    duplicateShare: options.duplicateShare ?? generatorDefaults.duplicateShare,
    lateShare: options.lateShare ?? generatorDefaults.lateShare,
    hostnameFor: options.hostnameFor ?? generatorDefaults.hostnameFor,
    dataDir: options.dataDir,
  };
  const { sites, start, durationMs, eventsPerSecond, botShare, duplicateShare, lateShare } = resolved;
  if (!Number.isFinite(resolved.seed)) throw new RangeError('seed must be a finite number');
  if (sites.length === 0) throw new RangeError('sites must name at least one site');
  if (new Set(sites).size !== sites.length) throw new RangeError('sites must not repeat a site id');
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('start must be epoch milliseconds');
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError('durationMs must be positive');
  if (!(eventsPerSecond > 0) || !Number.isFinite(eventsPerSecond)) {
    throw new RangeError('eventsPerSecond must be positive');
  }
  for (const [name, share] of Object.entries({ botShare, duplicateShare, lateShare })) {
    if (!(share >= 0 && share < 1)) throw new RangeError(`${name} must be in [0, 1)`);
  }
  if (duplicateShare + lateShare >= 1) throw new RangeError('duplicateShare + lateShare must be below 1');
  return resolved;
}
