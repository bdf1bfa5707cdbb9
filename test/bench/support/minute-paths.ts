/**
 * Minute price paths for the market-watch bench: correlated Gaussian log-increments, a Brownian bridge from
 * one daily close to the next, and a free random walk. Seeded, so every run replays the same minutes.
 */

/** Standard normal draws from a seeded uniform (Box–Muller). */
export function normals(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * `steps` log-increments for each σ (per step), correlated `correlation` through one common factor.
 *
 * @example
 * const [btc, eth] = correlatedSteps(seededRandom(1), [0.0008, 0.001], 1440, 0.7);
 */
export function correlatedSteps(
  random: () => number,
  sigmas: readonly number[],
  steps: number,
  correlation: number,
): number[][] {
  if (!(correlation >= 0 && correlation <= 1))
    throw new RangeError(`correlation must be in [0, 1], got ${correlation}`);
  const z = normals(random);
  const out = sigmas.map(() => new Array<number>(steps));
  for (let m = 0; m < steps; m++) {
    const common = z();
    sigmas.forEach((sigma, i) => {
      (out[i] as number[])[m] = sigma * (Math.sqrt(correlation) * common + Math.sqrt(1 - correlation) * z());
    });
  }
  return out;
}

/**
 * Prices after each step of a Brownian bridge in log price from `from` to `to`: the walk of `increments`
 * with its end pulled to `to`, linearly in time. The last price is `to` (to rounding).
 */
export function brownianBridge(from: number, to: number, increments: readonly number[]): number[] {
  const n = increments.length;
  let w = 0;
  const walk = increments.map((x) => {
    w += x;
    return w;
  });
  const gap = w - Math.log(to / from);
  return walk.map((p, m) => from * Math.exp(p - ((m + 1) / n) * gap));
}

/** Prices after each step of a free walk in log price from `from`. */
export function randomWalk(from: number, increments: readonly number[]): number[] {
  let logPrice = Math.log(from);
  return increments.map((x) => {
    logPrice += x;
    return Math.exp(logPrice);
  });
}

/** Parkinson's daily σ from a day's high and low: σ² = ln(H/L)² / (4 ln 2). */
export function parkinsonSigma(high: number, low: number): number {
  if (!(high >= low && low > 0)) throw new RangeError(`high ${high} and low ${low}: need high ≥ low > 0`);
  return Math.log(high / low) / Math.sqrt(4 * Math.log(2));
}
