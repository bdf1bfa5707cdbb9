import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/domain/math/random.ts';

describe('seededRandom', () => {
  it('repeats its sequence for a seed, differs across seeds, and stays in [0, 1) with mean ½', () => {
    const a = seededRandom(20261124);
    const b = seededRandom(20261124);
    const c = seededRandom(20261125);
    const xs = Array.from({ length: 100_000 }, () => a());
    expect(Array.from({ length: 100_000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // Uniform: mean ½ ± 4 standard errors (1/√(12n)).
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 / Math.sqrt(12 * xs.length));
  });
});
