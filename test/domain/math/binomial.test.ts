import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomialCdf, binomialPmf } from '../../../lib/domain/math/binomial.ts';
import { expectClose } from './tolerance.ts';

describe('binomialCdf', () => {
  // margin-methods.md §4.3: P(X ≤ k), n = 250, p = 0.01, printed in % to 2 decimals (so ±5e-5).
  it.each([
    [0, 0.0811],
    [1, 0.2858],
    [2, 0.5432],
    [3, 0.7581],
    [4, 0.8922],
    [5, 0.9588],
    [6, 0.9863],
    [7, 0.996],
    [8, 0.9989],
    [9, 0.9997],
    [10, 0.9999],
  ])('P(X ≤ %s | n = 250, p = 1%%) = %s (margin-methods.md §4.3)', (k, expected) => {
    // Act
    const actual = binomialCdf(k, 250, 0.01);

    // Assess
    expectClose(actual, expected, { abs: 5e-5 });
  });

  // R 4.2.2: Rscript -e 'cat(sprintf("[%d, %.17g],", 0:10, pbinom(0:10, 250, 0.01)), sep="\n")'
  it.each([
    [0, 0.081058516162181446],
    [1, 0.28575173879395277],
    [2, 0.54316897331572611],
    [3, 0.75811669776488344],
    [4, 0.89218762690362508],
    [5, 0.95881681593015156],
    [6, 0.98629855214479623],
    [7, 0.99597466128819212],
    [8, 0.99894346750264318],
    [9, 0.9997498099312595],
    [10, 0.99994610137095297],
  ])('P(X ≤ %s | n = 250, p = 1%%) matches R pbinom to 1e-14 relative', (k, expected) => {
    // Act
    const actual = binomialCdf(k, 250, 0.01);

    // Assess
    expectClose(actual, expected, { rel: 1e-14 });
  });

  it('equals the direct sum of the pmf', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: 1e-4, max: 0.9999, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, p, share) => {
          // Prepare
          const k = Math.floor(share * n);
          let direct = 0;
          for (let i = 0; i <= k; i++) direct += binomialPmf(i, n, p);

          // Act
          const actual = binomialCdf(k, n, p);

          // Assess
          expectClose(actual, Math.min(1, direct), { rel: 1e-11, abs: 1e-15 });
        },
      ),
    );
  });

  it('handles the edges: k < 0, k ≥ n, p = 0, p = 1, non-integer k', () => {
    // Act / Assess
    expect(binomialCdf(-1, 10, 0.3)).toBe(0);
    expect(binomialCdf(10, 10, 0.3)).toBe(1);
    expect(binomialCdf(0, 10, 0)).toBe(1);
    expect(binomialCdf(9, 10, 1)).toBe(0);
    expect(binomialCdf(2.7, 10, 0.3)).toBe(binomialCdf(2, 10, 0.3));
    expect(() => binomialCdf(1, 2.5, 0.3)).toThrow(RangeError);
    expect(() => binomialCdf(1, 10, 1.2)).toThrow(RangeError);
  });
});

describe('binomialPmf', () => {
  it('is 0.99^250 at k = 0 and C(10,3)/2^10 for a fair coin', () => {
    // Act / Assess
    expectClose(binomialPmf(0, 250, 0.01), 0.99 ** 250, { rel: 1e-13 });
    expectClose(binomialPmf(3, 10, 0.5), 120 / 1024, { rel: 1e-14 });
    expect(binomialPmf(11, 10, 0.5)).toBe(0);
  });
});
