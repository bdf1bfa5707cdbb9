import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normalCdf,
  normalExpectedShortfall,
  normalPdf,
  normalQuantile,
  normalSurvival,
} from '../../../lib/domain/math/normal.ts';
import { expectClose } from './tolerance.ts';

describe('normalQuantile', () => {
  // margin-methods.md §5.5 "Normal quantiles" (6 decimals there, so ±5e-7).
  it.each([
    [0.99, 2.326348],
    [0.995, 2.575829],
    [0.975, 1.959964],
  ])('z_%s = %s (margin-methods.md §5.5)', (p, z) => {
    // Act
    const actual = normalQuantile(p);

    // Assess
    expectClose(actual, z, { abs: 5e-7 });
  });

  // R 4.2.2: Rscript -e 'cat(sprintf("%.17g", qnorm(c(1e-300, 1e-20, 1e-10, 1e-4, 0.01, 0.05, 0.3, 0.9, 0.99, 1-1e-10))), sep=",\n")'
  it.each([
    [1e-300, -37.047096299361201],
    [1e-20, -9.2623400897984052],
    [1e-10, -6.3613409024040557],
    [1e-4, -3.71901648545568],
    [0.01, -2.3263478740408408],
    [0.05, -1.6448536269514726],
    [0.3, -0.52440051270804067],
    [0.9, 1.2815515655446008],
    [0.99, 2.3263478740408408],
    [1 - 1e-10, 6.3613408896974208],
  ])('matches R qnorm(%s) to 1e-15 relative', (p, z) => {
    // Act
    const actual = normalQuantile(p);

    // Assess
    expectClose(actual, z, { rel: 1e-15 });
  });

  it('is ±∞ at 0 and 1, exactly 0 at ½, and rejects p outside [0, 1]', () => {
    // Act / Assess
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(0.5)).toBe(0);
    expect(() => normalQuantile(-0.1)).toThrow(RangeError);
    expect(() => normalQuantile(1.1)).toThrow(RangeError);
    expect(() => normalQuantile(Number.NaN)).toThrow(RangeError);
  });

  it('inverts normalCdf to 1e-14 relative over (1e-300, 1)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1, noNaN: true, maxExcluded: true }), (p) => {
        // Act
        const roundTrip = normalCdf(normalQuantile(p));

        // Assess: near 1 the resolution of p itself (1.1e-16 absolute) is the limit.
        expectClose(roundTrip, p, { rel: 1e-14, abs: 4e-16 });
      }),
    );
  });

  it('is increasing in p', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-300, max: 1, noNaN: true, maxExcluded: true }),
        fc.double({ min: 1e-300, max: 1, noNaN: true, maxExcluded: true }),
        (a, b) => {
          // Act
          const [qa, qb] = [normalQuantile(a), normalQuantile(b)];

          // Assess
          if (a < b) expect(qa).toBeLessThanOrEqual(qb);
          else expect(qa).toBeGreaterThanOrEqual(qb);
        },
      ),
    );
  });
});

describe('normalCdf / normalSurvival', () => {
  // R 4.2.2: Rscript -e 'cat(sprintf("%.17g", pnorm(c(-37.5,-20,-8,-3,-1,-0.3,0,0.5,2))), sep=",\n")'
  it.each([
    [-37.5, 4.6053530095819552e-308],
    [-20, 2.7536241186062337e-89],
    [-8, 6.2209605742717849e-16],
    [-3, 0.0013498980316300946],
    [-1, 0.15865525393145705],
    [-0.3, 0.38208857781104733],
    [0, 0.5],
    [0.5, 0.69146246127401301],
    [2, 0.97724986805182079],
  ])('normalCdf(%s) matches R pnorm to 1e-15 relative', (x, p) => {
    // Act
    const actual = normalCdf(x);

    // Assess
    expectClose(actual, p, { rel: 1e-15 });
  });

  // R 4.2.2: Rscript -e 'cat(sprintf("%.17g", pnorm(c(8, 20), lower.tail=FALSE)), sep=",\n")'
  it.each([
    [8, 6.2209605742717849e-16],
    [20, 2.7536241186062337e-89],
  ])('normalSurvival(%s) keeps relative precision in the upper tail (R pnorm upper)', (x, q) => {
    // Act
    const actual = normalSurvival(x);

    // Assess: 1 − normalCdf(x) would be 0 or 1e-16-coarse here.
    expectClose(actual, q, { rel: 1e-15 });
  });

  it('is symmetric, and the two tails sum to 1', () => {
    fc.assert(
      fc.property(fc.double({ min: -40, max: 40, noNaN: true }), (x) => {
        // Act
        const [lower, upper, mirrored] = [normalCdf(x), normalSurvival(x), normalCdf(-x)];

        // Assess
        expect(upper).toBe(mirrored);
        expectClose(lower + upper, 1, { abs: 2.3e-16 });
      }),
    );
  });

  it('handles ±∞ and NaN', () => {
    // Act / Assess
    expect(normalCdf(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(normalCdf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(normalCdf(Number.NaN)).toBeNaN();
  });
});

/**
 * Cody's algorithm as written before issue 7 (coefficient loops, exp(−x²/2) as two `Math.exp`): the
 * reference the tabulated, straight-line implementation must reproduce to the bit.
 */
function codyTails(x: number): { lower: number; upper: number } {
  const A = [
    2.2352520354606837, 161.02823106855587, 1067.6894854603709, 18154.98125334356, 0.06568233791820745,
  ];
  const B = [47.202581904688245, 976.0985517377767, 10260.932208618979, 45507.78933502673];
  const C = [
    0.39894151208813466, 8.883149794388377, 93.50665613217785, 597.2702763948002, 2494.5375852903726,
    6848.190450536283, 11602.65143764735, 9842.714838383978, 1.0765576773720192e-8,
  ];
  const D = [
    22.266688044328117, 235.387901782625, 1519.3775994075547, 6485.558298266761, 18615.571640885097,
    34900.95272114598, 38912.00328609327, 19685.429676859992,
  ];
  const P = [
    0.215898534057957, 0.12740116116024736, 0.022235277870649807, 0.0014216191932278934,
    2.9112874951168793e-5, 0.023073441764940174,
  ];
  const Q = [
    1.284260096144911, 0.4682382124808651, 0.06598813786892856, 0.0037823963320275824, 7.297515550839662e-5,
  ];
  const c = (table: number[], i: number) => table[i] as number;
  const expHalfSquare = (v: number) => {
    const xs = Math.trunc(v * 16) / 16;
    const del = (v - xs) * (v + xs);
    return Math.exp(-xs * xs * 0.5) * Math.exp(-del * 0.5);
  };
  if (Number.isNaN(x)) return { lower: Number.NaN, upper: Number.NaN };
  const y = Math.abs(x);
  if (y <= 0.66291) {
    const xsq = x * x;
    let num = c(A, 4) * xsq;
    let den = xsq;
    for (let i = 0; i < 3; i++) {
      num = (num + c(A, i)) * xsq;
      den = (den + c(B, i)) * xsq;
    }
    const t = (x * (num + c(A, 3))) / (den + c(B, 3));
    return { lower: 0.5 + t, upper: 0.5 - t };
  }
  let tail: number;
  if (y <= Math.sqrt(32)) {
    let num = c(C, 8) * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + c(C, i)) * y;
      den = (den + c(D, i)) * y;
    }
    tail = expHalfSquare(y) * ((num + c(C, 7)) / (den + c(D, 7)));
  } else if (y < 50) {
    const xsq = 1 / (y * y);
    let num = c(P, 5) * xsq;
    let den = xsq;
    for (let i = 0; i < 4; i++) {
      num = (num + c(P, i)) * xsq;
      den = (den + c(Q, i)) * xsq;
    }
    const r = (xsq * (num + c(P, 4))) / (den + c(Q, 4));
    tail = (expHalfSquare(y) * (0.3989422804014327 - r)) / y;
  } else {
    tail = 0;
  }
  return x > 0 ? { lower: 1 - tail, upper: tail } : { lower: tail, upper: 1 - tail };
}

describe('normalCdf / normalSurvival / normalPdf against the two-exponential form of Cody', () => {
  it('gives the same floats, bit for bit, across the range and at the region boundaries (property)', () => {
    const same = (x: number) => {
      const { lower, upper } = codyTails(x);
      expect(Object.is(normalCdf(x), lower), `normalCdf(${x})`).toBe(true);
      expect(Object.is(normalSurvival(x), upper), `normalSurvival(${x})`).toBe(true);
      if (Math.abs(x) < 40) {
        const y = Math.abs(x);
        const xs = Math.trunc(y * 16) / 16;
        const pdf = 0.3989422804014327 * (Math.exp(-xs * xs * 0.5) * Math.exp(-((y - xs) * (y + xs)) * 0.5));
        expect(Object.is(normalPdf(x), pdf), `normalPdf(${x})`).toBe(true);
      }
    };
    const sqrt32 = Math.sqrt(32);
    for (const x of [0, -0, 0.66291, 0.6629100000000001, sqrt32, sqrt32 + 1e-15, 39.99, 49.999, 50, 1 / 16]) {
      same(x);
      same(-x);
    }
    same(Number.NaN);
    same(Number.POSITIVE_INFINITY);
    same(Number.NEGATIVE_INFINITY);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: -1, max: 1, noNaN: true }),
          fc.double({ min: -8, max: 8, noNaN: true }),
          fc.double({ min: -60, max: 60, noNaN: true }),
          fc.integer({ min: -800, max: 800 }).map((k) => k / 16), // on the table's grid points
        ),
        same,
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('normalPdf', () => {
  it('is 1/√(2π) at 0, e^(−2)/√(2π) at ±2, and 0 far out', () => {
    // Act / Assess
    expectClose(normalPdf(0), 0.3989422804014327, { rel: 1e-16 });
    expectClose(normalPdf(2), Math.exp(-2) / Math.sqrt(2 * Math.PI), { rel: 2e-16 });
    expect(normalPdf(-2)).toBe(normalPdf(2));
    expect(normalPdf(Number.POSITIVE_INFINITY)).toBe(0);
    expect(normalPdf(Number.NaN)).toBeNaN();
  });
});

describe('normalExpectedShortfall', () => {
  it.each([
    [0.975, 2.337803],
    [0.99, 2.665214],
  ])('ES_%s = %s σ (margin-methods.md §5.5)', (p, es) => {
    // Act
    const actual = normalExpectedShortfall(p);

    // Assess
    expectClose(actual, es, { abs: 5e-7 });
  });

  // R 4.2.2, numerical integration independent of the closed form φ(z_p)/(1−p):
  // Rscript -e 'for (p in c(0.975,0.99,0.995)) cat(sprintf("%.17g", integrate(function(z) z*dnorm(z), qnorm(p), Inf, rel.tol=1e-14)$value/(1-p)), "\n")'
  it.each([
    [0.975, 2.3378027922014155],
    [0.99, 2.6652142203458049],
    [0.995, 2.8919486053834844],
  ])('ES_%s matches numerical integration to 1e-12 relative', (p, es) => {
    // Act
    const actual = normalExpectedShortfall(p);

    // Assess
    expectClose(actual, es, { rel: 1e-12 });
  });

  it('is 0 at p = 0 and rejects p = 1', () => {
    // Act / Assess
    expect(normalExpectedShortfall(0)).toBe(0);
    expect(() => normalExpectedShortfall(1)).toThrow(RangeError);
  });
});
