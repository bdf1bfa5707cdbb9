import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../lib/domain/math/random.ts';
import { brownianBridge, correlatedSteps, parkinsonSigma, randomWalk } from './support/minute-paths.ts';

const MINUTES = 1440;

function stdev(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

function logReturns(from: number, prices: readonly number[]): number[] {
  return prices.map((p, i) => Math.log(p / (i === 0 ? from : (prices[i - 1] as number))));
}

describe('minute paths of the market-watch bench', () => {
  it('a Brownian bridge ends on the next close and moves at the σ it was given', () => {
    // Prepare: a 4% daily σ spread over the day's minutes
    const sigma = 0.04 / Math.sqrt(MINUTES);
    const [steps] = correlatedSteps(seededRandom(7), [sigma], MINUTES, 0);

    // Act
    const path = brownianBridge(30_000, 27_000, steps as number[]);

    // Assess: the day's close exactly, minute moves at σ (the pull adds a constant drift only)
    expect(path).toHaveLength(MINUTES);
    expect(path.at(-1)).toBeCloseTo(27_000, 6);
    expect(stdev(logReturns(30_000, path)) / sigma).toBeGreaterThan(0.93);
    expect(stdev(logReturns(30_000, path)) / sigma).toBeLessThan(1.07);
  });

  it('a random walk at 60% annualised realises about 60% over many days', () => {
    // Prepare
    const perMinute = 0.6 / Math.sqrt(365 * MINUTES);
    const [steps] = correlatedSteps(seededRandom(11), [perMinute], 20 * MINUTES, 0.7);

    // Act
    const path = randomWalk(60_000, steps as number[]);

    // Assess
    const annualised = stdev(logReturns(60_000, path)) * Math.sqrt(365 * MINUTES);
    expect(annualised).toBeGreaterThan(0.57);
    expect(annualised).toBeLessThan(0.63);
  });

  it('correlates instruments through the common factor', () => {
    const [a, b] = correlatedSteps(seededRandom(3), [1, 1], 50_000, 0.7) as [number[], number[]];
    const covariance = a.reduce((s, x, i) => s + x * (b[i] as number), 0) / a.length;
    expect(covariance / (stdev(a) * stdev(b))).toBeCloseTo(0.7, 1);
  });

  it("takes a day's σ from its high and low (Parkinson) and refuses a low above the high", () => {
    expect(parkinsonSigma(110, 100)).toBeCloseTo(Math.log(1.1) / Math.sqrt(4 * Math.log(2)), 12);
    expect(() => parkinsonSigma(90, 100)).toThrow(/high 90 and low 100/);
    expect(() => correlatedSteps(seededRandom(1), [1], 10, 1.5)).toThrow(/correlation must be in \[0, 1\]/);
  });
});
