import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { empiricalExpectedShortfall, empiricalQuantile } from '../../../lib/domain/math/quantile.ts';
import { expectClose } from './tolerance.ts';

const sample = [3.2, -1.5, 0.0, 7.75, 2.5, 2.5, -4.0, 10.0, 1.25];

describe('empiricalQuantile', () => {
  // numpy 1.24.2 (Debian python3-numpy), default method='linear':
  // /usr/bin/python3 -c "import numpy as np; v=[3.2,-1.5,0.0,7.75,2.5,2.5,-4.0,10.0,1.25]; print([repr(float(np.quantile(v, p))) for p in [0,0.01,0.1,0.25,0.5,0.9,0.975,0.99,1]])"
  it.each([
    [0, -4.0],
    [0.01, -3.8],
    [0.1, -2.0],
    [0.25, 0.0],
    [0.5, 2.5],
    [0.9, 8.200000000000001],
    [0.975, 9.549999999999999],
    [0.99, 9.82],
    [1, 10.0],
  ])('p = %s gives numpy.quantile bit for bit (%s)', (p, expected) => {
    // Act
    const actual = empiricalQuantile(sample, p);

    // Assess
    expect(actual).toBe(expected);
  });

  it('matches numpy on a Float64Array with inexact decimals', () => {
    // Prepare: /usr/bin/python3 -c "import numpy as np; w=np.array([0.1*i for i in range(1,8)]); print([repr(float(np.quantile(w, p))) for p in [0.3,0.7,0.99,0.123]])"
    const values = Float64Array.from({ length: 7 }, (_, i) => 0.1 * (i + 1));

    // Act
    const actual = [0.3, 0.7, 0.99, 0.123].map((p) => empiricalQuantile(values, p));

    // Assess
    expect(actual).toEqual([0.28, 0.5199999999999999, 0.6940000000000001, 0.1738]);
  });

  it('does not mutate its input', () => {
    // Prepare
    const values = [...sample];

    // Act
    empiricalQuantile(values, 0.5);

    // Assess
    expect(values).toEqual(sample);
  });

  it('stays within [min, max], is monotone in p, and hits order statistics at p = i/(n−1)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, p1, p2) => {
          // Prepare
          const sorted = [...values].sort((a, b) => a - b);
          const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];

          // Act
          const [qLo, qHi] = [empiricalQuantile(values, lo), empiricalQuantile(values, hi)];

          // Assess
          expect(qLo).toBeGreaterThanOrEqual(sorted[0] ?? Number.NaN);
          expect(qHi).toBeLessThanOrEqual(sorted[sorted.length - 1] ?? Number.NaN);
          expect(qLo).toBeLessThanOrEqual(qHi);
          const i = Math.floor(p1 * (values.length - 1));
          if (values.length > 1) expect(empiricalQuantile(values, i / (values.length - 1))).toBe(sorted[i]);
        },
      ),
    );
  });

  it('rejects an empty sample, NaN values and p outside [0, 1]', () => {
    // Act / Assess
    expect(() => empiricalQuantile([], 0.5)).toThrow(RangeError);
    expect(() => empiricalQuantile([1, Number.NaN], 0.5)).toThrow('values[1]');
    expect(() => empiricalQuantile([1, 2], 1.01)).toThrow(RangeError);
  });
});

describe('empiricalExpectedShortfall', () => {
  const oneToTen = [7, 1, 10, 4, 2, 9, 3, 8, 6, 5];

  it('is the mean of the k largest when n·(1−p) = k is whole', () => {
    // Act / Assess
    expect(empiricalExpectedShortfall(oneToTen, 0.8)).toBe(9.5);
    expect(empiricalExpectedShortfall(oneToTen, 0.9)).toBe(10);
    expect(empiricalExpectedShortfall(oneToTen, 0.5)).toBe(8);
  });

  it('weights the boundary observation fractionally otherwise (Acerbi–Tasche)', () => {
    // Prepare: n·(1−p) = 2.5 → (10 + 9 + 0.5·8) / 2.5
    const expected = (10 + 9 + 0.5 * 8) / 2.5;

    // Act
    const actual = empiricalExpectedShortfall(oneToTen, 0.75);

    // Assess
    expectClose(actual, expected, { rel: 1e-15 });
  });

  it('gives the LCH-style "mean of the 6 worst of 2 500" at p = 0.9976', () => {
    // Prepare: losses 1…2500, so the 6 worst are 2495…2500
    const losses = Array.from({ length: 2500 }, (_, i) => i + 1);

    // Act
    const actual = empiricalExpectedShortfall(losses, 0.9976);

    // Assess
    expect(actual).toBe((2495 + 2496 + 2497 + 2498 + 2499 + 2500) / 6);
  });

  it('is the mean at p = 0, the maximum at p = 1 and for p = 0.99 with n = 100', () => {
    // Prepare
    const hundred = Array.from({ length: 100 }, (_, i) => i);

    // Act / Assess
    expect(empiricalExpectedShortfall(oneToTen, 0)).toBe(5.5);
    expect(empiricalExpectedShortfall(oneToTen, 1)).toBe(10);
    expect(empiricalExpectedShortfall(hundred, 0.99)).toBe(99);
  });

  it('lies between the type-7 quantile and the maximum, and does not decrease in p', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, p1, p2) => {
          // Prepare
          const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];
          const max = Math.max(...values);
          const slack = 1e-9 * (1 + Math.abs(max));

          // Act
          const [esLo, esHi] = [
            empiricalExpectedShortfall(values, lo),
            empiricalExpectedShortfall(values, hi),
          ];

          // Assess
          expect(esLo).toBeGreaterThanOrEqual(empiricalQuantile(values, lo) - slack);
          expect(esHi).toBeLessThanOrEqual(max + slack);
          expect(esLo).toBeLessThanOrEqual(esHi + slack);
        },
      ),
    );
  });

  it('does not mutate its input and rejects an empty sample', () => {
    // Prepare
    const values = [...oneToTen];

    // Act
    empiricalExpectedShortfall(values, 0.9);

    // Assess
    expect(values).toEqual(oneToTen);
    expect(() => empiricalExpectedShortfall([], 0.9)).toThrow(RangeError);
  });
});
