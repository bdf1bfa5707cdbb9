import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalCdf } from '../../../lib/domain/math/normal.ts';
import {
  logBeta,
  logGamma,
  regularizedBeta,
  regularizedGammaP,
  regularizedGammaQ,
} from '../../../lib/domain/math/special.ts';
import { expectClose } from './tolerance.ts';

describe('logGamma', () => {
  // R 4.2.2: Rscript -e 'cat(sprintf("%.17g", lgamma(c(1e-10, 0.1, 0.5, 1.5, 2.5, 7.3, 9.99, 10.5, 100, 1e6))), sep=",\n")'
  it.each([
    [1e-10, 23.025850929882736],
    [0.1, 2.252712651734206],
    [0.5, 0.57236494292470008],
    [1.5, -0.12078223763524518],
    [2.5, 0.28468287047291918],
    [7.3, 7.1478925230222492],
    [9.99, 12.779315214350193],
    [10.5, 13.940625219403763],
    [100, 359.1342053695754],
    [1e6, 12815504.569147611],
  ])('logGamma(%s) matches R lgamma to 1e-14 relative', (x, expected) => {
    // Act
    const actual = logGamma(x);

    // Assess
    expectClose(actual, expected, { rel: 1e-14 });
  });

  it('is exactly 0 at 1 and 2 and ln((n−1)!) at integers', () => {
    // Prepare
    let factorial = 1;

    for (let n = 3; n <= 25; n++) {
      factorial *= n - 1;

      // Act
      const actual = logGamma(n);

      // Assess: Lanczos (g = 7) is good to about 1e-15 absolute below 10.
      expectClose(actual, Math.log(factorial), { rel: 1e-14 });
    }
    expect(logGamma(1)).toBe(0);
    expect(logGamma(2)).toBe(0);
  });

  it('satisfies Γ(x+1) = x·Γ(x) in log form across the Lanczos/Stirling switch', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e4, noNaN: true }), (x) => {
        // Act
        const difference = logGamma(x + 1) - logGamma(x);

        // Assess
        expectClose(difference, Math.log(x), { abs: 2e-14 * Math.max(1, Math.abs(logGamma(x))) });
      }),
    );
  });

  it('rejects x ≤ 0', () => {
    // Act / Assess
    expect(() => logGamma(0)).toThrow(RangeError);
    expect(() => logGamma(-1.5)).toThrow(RangeError);
  });
});

describe('logBeta', () => {
  it('keeps full precision where the ln Γ terms are huge (a = 5e4, b = ½)', () => {
    // Prepare: B(a, ½) = Γ(a)Γ(½)/Γ(a+½); for large a, Γ(a+½)/Γ(a) = √a·(1 − 1/(8a) + 1/(128a²) + …).
    const a = 5e4;
    const expected =
      0.5 * Math.log(Math.PI) - 0.5 * Math.log(a) - Math.log1p(-1 / (8 * a) + 1 / (128 * a * a));

    // Act
    const actual = logBeta(a, 0.5);

    // Assess
    expectClose(actual, expected, { abs: 1e-15 });
  });

  it('equals ln Γ(a) + ln Γ(b) − ln Γ(a+b) for small arguments, and is symmetric', () => {
    // Act / Assess
    expectClose(logBeta(2, 3), Math.log(1 / 12), { rel: 1e-14 });
    expect(logBeta(30, 0.7)).toBe(logBeta(0.7, 30));
  });
});

describe('regularizedGammaP / regularizedGammaQ', () => {
  // R 4.2.2: Rscript -e 'cat(sprintf("[%g, %g, %.17g, %.17g],", c(0.5,0.5,2.5,10,10,50,200,1000), c(0.01,2,1,5,30,50,150,1100), pgamma(c(0.01,2,1,5,30,50,150,1100), c(0.5,0.5,2.5,10,10,50,200,1000)), pgamma(c(0.01,2,1,5,30,50,150,1100), c(0.5,0.5,2.5,10,10,50,200,1000), lower.tail=FALSE)), sep="\n")'
  it.each([
    [0.5, 0.01, 0.1124629160182849, 0.88753708398171505],
    [0.5, 2, 0.95449973610364158, 0.045500263896358473],
    [2.5, 1, 0.15085496391539036, 0.84914503608460967],
    [10, 5, 0.031828057306204811, 0.96817194269379514],
    [10, 30, 0.99999287824913718, 7.1217508628155784e-6],
    [50, 50, 0.51880831547204331, 0.48119168452795669],
    [200, 150, 5.7096885742082392e-5, 0.99994290311425793],
    [1000, 1100, 0.99894067674607001, 0.0010593232539299791],
  ])('P(%s, %s) and Q match R pgamma to 1e-13 relative', (a, x, p, q) => {
    // Act
    const [actualP, actualQ] = [regularizedGammaP(a, x), regularizedGammaQ(a, x)];

    // Assess
    expectClose(actualP, p, { rel: 1e-13 });
    expectClose(actualQ, q, { rel: 1e-13 });
  });

  it('reduces to 1 − e^(−x) for a = 1, with Q = e^(−x) exact far in the tail', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-8, max: 700, noNaN: true }), (x) => {
        // Act
        const [p, q] = [regularizedGammaP(1, x), regularizedGammaQ(1, x)];

        // Assess
        expectClose(p, -Math.expm1(-x), { rel: 1e-14 });
        expectClose(q, Math.exp(-x), { rel: 1e-13 });
      }),
    );
  });

  it('handles x = 0 and x = ∞, and rejects a ≤ 0 or x < 0', () => {
    // Act / Assess
    expect(regularizedGammaP(3, 0)).toBe(0);
    expect(regularizedGammaQ(3, 0)).toBe(1);
    expect(regularizedGammaP(3, Number.POSITIVE_INFINITY)).toBe(1);
    expect(() => regularizedGammaP(0, 1)).toThrow(RangeError);
    expect(() => regularizedGammaP(1, -1)).toThrow(RangeError);
  });
});

describe('regularizedBeta', () => {
  // R 4.2.2: Rscript -e 'cat(sprintf("[%g, %g, %g, %.17g],", c(0.3,0.5,0.01,0.9,0.99,0.5,0.999), c(0.5,2,1.5,10,246,50,2500), c(0.5,3,100,0.5,5,50,0.5), pbeta(c(0.3,0.5,0.01,0.9,0.99,0.5,0.999), c(0.5,2,1.5,10,246,50,2500), c(0.5,3,100,0.5,5,50,0.5))), sep="\n")'
  it.each([
    [0.3, 0.5, 0.5, 0.36901011956554525],
    [0.5, 2, 3, 0.6875],
    [0.01, 1.5, 100, 0.43071682059668781],
    [0.9, 10, 0.5, 0.15164090963470997],
    [0.99, 246, 5, 0.89218762690362541],
    [0.5, 50, 50, 0.5],
    [0.999, 2500, 0.5, 0.025318024564887513],
  ])('I_%s(%s, %s) matches R pbeta to 1e-12 relative', (x, a, b, expected) => {
    // Act
    const actual = regularizedBeta(x, a, b);

    // Assess: the continued fraction needs O(√a) steps, so a shape in the thousands costs a few digits.
    expectClose(actual, expected, { rel: 1e-12 });
  });

  // x = k/2^20 so that 1 − x is exact: otherwise the rounding of 1 − x alone breaks the identity for tiny x.
  const dyadic = fc.integer({ min: 0, max: 2 ** 20 }).map((k) => k / 2 ** 20);

  it('satisfies I_x(a, b) + I_{1−x}(b, a) = 1', () => {
    fc.assert(
      fc.property(
        dyadic,
        fc.double({ min: 0.05, max: 500, noNaN: true }),
        fc.double({ min: 0.05, max: 500, noNaN: true }),
        (x, a, b) => {
          // Act
          const sum = regularizedBeta(x, a, b) + regularizedBeta(1 - x, b, a);

          // Assess
          expectClose(sum, 1, { abs: 1e-13 });
        },
      ),
    );
  });

  it('is the arcsine law for a = b = ½: I_x = (2/π)·atan(√(x/(1−x)))', () => {
    fc.assert(
      fc.property(dyadic, (x) => {
        // Act
        const actual = regularizedBeta(x, 0.5, 0.5);

        // Assess (atan form: well conditioned at both ends, unlike asin(√x) near 1)
        expectClose(actual, (2 / Math.PI) * Math.atan(Math.sqrt(x / (1 - x))), { abs: 2e-15 });
      }),
    );
  });

  it('rejects x outside [0, 1] and non-positive shapes', () => {
    // Act / Assess
    expect(() => regularizedBeta(1.5, 1, 1)).toThrow(RangeError);
    expect(() => regularizedBeta(0.5, 0, 1)).toThrow(RangeError);
    expect(regularizedBeta(0, 2, 2)).toBe(0);
    expect(regularizedBeta(1, 2, 2)).toBe(1);
  });
});

describe('regularizedGammaQ against the normal tail', () => {
  it('Q(½, x²/2) = 2·Φ(−x): incomplete gamma and Cody normal agree to 1e-13 relative', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 37, noNaN: true }), (x) => {
        // Act
        const q = regularizedGammaQ(0.5, (x * x) / 2);

        // Assess
        expectClose(q, 2 * normalCdf(-x), { rel: 1e-13 });
      }),
    );
  });
});
