import { formatUuidV4 } from './uuid.js';

/**
 * A seeded pseudo-random source. Everything the generator draws comes from here, never from
 * Math.random, so one seed always yields the same traffic.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  /** Exponentially distributed with the given mean (waiting times of a Poisson process). */
  exponential(mean: number): number;
  /** A version 4 UUID built from this source, so event ids are reproducible too. */
  uuid(): string;
}

/**
 * sfc32 seeded through splitmix32: small, fast in V8 (pure 32-bit integer arithmetic) and with no
 * known statistical weaknesses at the volumes a benchmark draws, unlike a plain LCG.
 */
export function createRandom(seed: number): Random {
  // Fold in the bits above 2^32 so seeds such as Date.now() values do not collide.
  let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) >>> 0, 0x9e3779b9);
  const splitmix32 = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();

  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs still echo the seed; discard them.
  for (let i = 0; i < 15; i++) uint32();

  const next = (): number => uint32() / 0x1_0000_0000;

  return {
    next,
    uint32,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    exponential: (mean) => -mean * Math.log(1 - next()),
    uuid: () => {
      const w0 = uint32();
      const w1 = uint32();
      const w2 = uint32();
      const w3 = uint32();
      return formatUuidV4(w0, w1, w2, w3);
    },
  };
}

/** Draws one of `values` with probability proportional to its weight. */
export type WeightedPick<T> = (random: Random) => T;

export function weightedPick<T>(values: readonly T[], weights: readonly number[]): WeightedPick<T> {
  if (values.length === 0 || values.length !== weights.length) {
    throw new RangeError('weightedPick needs as many weights as values, and at least one');
  }
  const cumulative = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i]!;
    cumulative[i] = total;
  }
  const last = values.length - 1;
  return (random) => {
    const target = random.next() * total;
    // Binary search for the first cumulative weight above the target.
    let low = 0;
    let high = last;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cumulative[mid]! > target) high = mid;
      else low = mid + 1;
    }
    return values[low]!;
  };
}

/** Zipf weights 1/rank^exponent for ranks 1..n: a few items get most of the traffic. */
export function zipfWeights(n: number, exponent: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / (i + 1) ** exponent);
}
