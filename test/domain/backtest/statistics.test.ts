import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  christoffersen,
  kupiecPof,
  maxIncrease,
  peakToTrough,
  trafficLight,
} from '../../../lib/domain/backtest/statistics.ts';
import { binomialCdf } from '../../../lib/domain/math/binomial.ts';
import { expectClose } from '../math/tolerance.ts';

/** A breach sequence of `length` days with breaches on the given (0-based) days. */
function breachesOn(length: number, days: readonly number[]): boolean[] {
  const sequence = Array.from({ length }, () => false);
  for (const day of days) sequence[day] = true;
  return sequence;
}

describe('kupiecPof', () => {
  // margin-methods.md §6.1. Tolerances are half a unit in the last printed digit.
  it.each([
    // [n, x, p, LR_uc, LR tolerance, p-value, p-value tolerance, source]
    [1043, 57, 0.05, 0.46147, 5e-6, 0.49694, 5e-6, 'MATLAB varbacktest pof'],
    [250, 3, 0.05, 10.8123, 5e-5, 0.00101, 5e-6, 'MATLAB proportionOfFailuresTest (reject)'],
    [250, 3, 0.01, 0.09494, 5e-6, 0.75799, 5e-6, 'MATLAB proportionOfFailuresTest (accept)'],
    [250, 0, 0.01, 5.02517, 5e-6, 0.02498, 5e-6, 'zero exceptions'],
    [250, 4, 0.01, 0.76914, 5e-6, 0.3805, 5e-5, '4 exceptions'],
    [250, 5, 0.01, 1.95681, 5e-6, 0.1619, 5e-5, '5 exceptions'],
    [250, 10, 0.01, 12.95549, 5e-6, 0.000319, 5e-7, '10 exceptions'],
  ])('n = %s, x = %s, p = %s: LR_uc = %s (%s)', (n, x, p, lr, lrTolerance, pValue, pTolerance) => {
    // Act
    const result = kupiecPof(n, x, p);

    // Assess
    expectClose(result.statistic, lr, { abs: lrTolerance });
    expectClose(result.pValue, pValue, { abs: pTolerance });
  });

  it('rejects at 5% for 3 breaches of a 95% VaR in 250 days, accepts for a 99% VaR (MATLAB decisions)', () => {
    // Act
    const [at95, at99] = [kupiecPof(250, 3, 0.05), kupiecPof(250, 3, 0.01)];

    // Assess
    expect(at95.pValue).toBeLessThan(0.05);
    expect(at99.pValue).toBeGreaterThan(0.05);
  });

  it('is 0 with p-value 1 when the breach rate equals the coverage exactly, or with no observations', () => {
    // Act / Assess
    expect(kupiecPof(100, 1, 0.01)).toEqual({ statistic: 0, pValue: 1 });
    expect(kupiecPof(0, 0, 0.01)).toEqual({ statistic: 0, pValue: 1 });
  });

  it('uses 0·ln 0 = 0 when every day breaches', () => {
    // Prepare: LR = −2·n·ln p
    const expected = -2 * 10 * Math.log(0.01);

    // Act
    const result = kupiecPof(10, 10, 0.01);

    // Assess
    expectClose(result.statistic, expected, { rel: 1e-15 });
  });

  it('rejects invalid counts and coverage', () => {
    // Act / Assess
    expect(() => kupiecPof(10, 11, 0.01)).toThrow(RangeError);
    expect(() => kupiecPof(10, -1, 0.01)).toThrow(RangeError);
    expect(() => kupiecPof(10.5, 1, 0.01)).toThrow(RangeError);
    expect(() => kupiecPof(10, 1, 0)).toThrow(RangeError);
    expect(() => kupiecPof(10, 1, 1)).toThrow(RangeError);
  });
});

describe('christoffersen', () => {
  // margin-methods.md §6.2, n = 250, p = 0.01. LR values printed to 6 decimals (±5e-7).
  it('case A (clustered: days 100, 101, 102, 150, 151, 200) rejects independence', () => {
    // Prepare
    const breaches = breachesOn(250, [100, 101, 102, 150, 151, 200]);

    // Act
    const result = christoffersen(breaches, 0.01);

    // Assess
    expect([result.n00, result.n01, result.n10, result.n11]).toEqual([240, 3, 3, 3]);
    expectClose(result.unconditionalCoverage.statistic, 3.555355, { abs: 5e-7 });
    expectClose(result.independence.statistic, 15.915297, { abs: 5e-7 });
    expectClose(result.independence.pValue, 6.6e-5, { abs: 5e-7 });
    expectClose(result.conditionalCoverage.statistic, 19.470651, { abs: 5e-7 });
    expect(result.conditionalCoverage.pValue).toBeLessThan(0.01);
  });

  it('case B (spread out: days 40, 80, …, 240) accepts independence', () => {
    // Prepare
    const breaches = breachesOn(250, [40, 80, 120, 160, 200, 240]);

    // Act
    const result = christoffersen(breaches, 0.01);

    // Assess
    expect([result.n00, result.n01, result.n10, result.n11]).toEqual([237, 6, 6, 0]);
    expectClose(result.independence.statistic, 0.296326, { abs: 5e-7 });
    expectClose(result.independence.pValue, 0.586, { abs: 5e-4 });
    expectClose(result.conditionalCoverage.statistic, 3.851681, { abs: 5e-7 });
    expectClose(result.conditionalCoverage.pValue, 0.1458, { abs: 5e-5 });
  });

  it('reproduces the MATLAB varbacktest cci/cc example (1043 days, 57 failures: 932/53/53/4)', () => {
    // Prepare: 53 failure runs, 19 days apart, the first 4 of length two; first and last day clean.
    // https://www.mathworks.com/help/risk/varbacktest.cci.html: LRatioCCI 0.25866, PValueCCI 0.61104;
    // https://mathworks.com/help/risk/varbacktest.cc.html: LRatioCC 0.72013, PValueCC 0.69763.
    const days: number[] = [];
    for (let run = 0; run < 53; run++) {
      const start = 10 + 19 * run;
      days.push(start);
      if (run < 4) days.push(start + 1);
    }
    const breaches = breachesOn(1043, days);

    // Act
    const result = christoffersen(breaches, 0.05);

    // Assess
    expect([result.n00, result.n10, result.n01, result.n11]).toEqual([932, 53, 53, 4]);
    expectClose(result.independence.statistic, 0.25866, { abs: 5e-6 });
    expectClose(result.independence.pValue, 0.61104, { abs: 5e-6 });
    expectClose(result.conditionalCoverage.statistic, 0.72013, { abs: 5e-6 });
    expectClose(result.conditionalCoverage.pValue, 0.69763, { abs: 5e-6 });
    expectClose(result.unconditionalCoverage.statistic, 0.46147, { abs: 5e-6 });
  });

  it('tells n01 from n10 when the window opens inside a breach run (n01 = 2, n10 = 3)', () => {
    // Prepare: breaches on days 0, 1, 7, 8, 9, 14 of 20. Oracle, R 4.2.2 (same definitions, written out):
    // Rscript -e 'options(digits=17); I <- c(1,1,0,0,0,0,0,1,1,1,0,0,0,0,1,0,0,0,0,0); a <- head(I,-1); b <- I[-1]; n00 <- sum(a==0&b==0); n01 <- sum(a==0&b==1); n10 <- sum(a==1&b==0); n11 <- sum(a==1&b==1); xl <- function(n,p) if (n==0) 0 else n*log(p); p01 <- n01/(n00+n01); p11 <- n11/(n10+n11); p <- (n01+n11)/(n00+n01+n10+n11); lr <- -2*(xl(n00+n10,1-p)+xl(n01+n11,p)-xl(n00,1-p01)-xl(n01,p01)-xl(n10,1-p11)-xl(n11,p11)); n <- length(I); x <- sum(I); q <- 0.05; uc <- -2*(xl(n-x,1-q)+xl(x,q)-xl(n-x,1-x/n)-xl(x,x/n)); cat(n00,n01,n10,n11, sprintf("%.17g", c(lr, pchisq(lr,1,lower.tail=FALSE), uc+lr, pchisq(uc+lr,2,lower.tail=FALSE))), "\n")'
    const breaches = breachesOn(20, [0, 1, 7, 8, 9, 14]);

    // Act
    const result = christoffersen(breaches, 0.05);

    // Assess
    expect([result.n00, result.n01, result.n10, result.n11]).toEqual([11, 2, 3, 3]);
    expectClose(result.independence.statistic, 2.4205321178411232, { rel: 1e-13 });
    expectClose(result.independence.pValue, 0.11975424562108988, { rel: 1e-13 });
    expectClose(result.conditionalCoverage.statistic, 15.370959561144691, { rel: 1e-13 });
    expectClose(result.conditionalCoverage.pValue, 0.0004594503011443199, { rel: 1e-12 });
  });

  it('handles the MATLAB cci edge cases: no breach, every day a breach, a breach only on the last day', () => {
    // Act
    const none = christoffersen(breachesOn(250, []), 0.01);
    const all = christoffersen(
      Array.from({ length: 20 }, () => true),
      0.01,
    );
    const lastOnly = christoffersen(breachesOn(250, [249]), 0.01);

    // Assess: 0·ln 0 := 0 keeps every statistic finite; with one regime only there is nothing to compare.
    expect(none.independence).toEqual({ statistic: 0, pValue: 1 });
    expect(none.n00).toBe(249);
    expect(all.n11).toBe(19);
    expect(all.independence).toEqual({ statistic: 0, pValue: 1 });
    expect(lastOnly.n10 + lastOnly.n11).toBe(0);
    expect(lastOnly.independence).toEqual({ statistic: 0, pValue: 1 });
    expectClose(lastOnly.conditionalCoverage.statistic, kupiecPof(250, 1, 0.01).statistic, { rel: 1e-15 });
  });

  it('gives LR_ind = 0 for fewer than two observations', () => {
    // Act / Assess
    expect(christoffersen([], 0.01).independence).toEqual({ statistic: 0, pValue: 1 });
    expect(christoffersen([true], 0.01).independence).toEqual({ statistic: 0, pValue: 1 });
  });

  it('counts n − 1 transitions and sums LR_uc and LR_ind into LR_cc, for any sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 2, maxLength: 400 }), (breaches) => {
        // Act
        const result = christoffersen(breaches, 0.05);

        // Assess
        expect(result.n00 + result.n01 + result.n10 + result.n11).toBe(breaches.length - 1);
        expect(result.independence.statistic).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(result.independence.statistic)).toBe(true);
        expectClose(
          result.conditionalCoverage.statistic,
          result.unconditionalCoverage.statistic + result.independence.statistic,
          { rel: 1e-15, abs: 1e-15 },
        );
      }),
    );
  });

  it('rejects coverage outside (0, 1)', () => {
    // Act / Assess
    expect(() => christoffersen([false, true], 0)).toThrow(RangeError);
  });
});

describe('trafficLight', () => {
  it.each([
    ...[0, 1, 2, 3, 4].map((k) => [k, 'green'] as const),
    ...[5, 6, 7, 8, 9].map((k) => [k, 'yellow'] as const),
    ...[10, 11, 15, 250].map((k) => [k, 'red'] as const),
  ])('n = 250, p = 1%%: %s breaches is %s (Basel, margin-methods.md §4.3)', (breaches, zone) => {
    // Act
    const result = trafficLight(250, breaches, 0.01);

    // Assess
    expect(result.zone).toBe(zone);
    expect(result.cumulativeProbability).toBe(binomialCdf(breaches, 250, 0.01));
  });

  // Other window lengths, R 4.2.2: Rscript -e 'cat(qbinom(c(0.95, 0.9999), 500, 0.01), qbinom(c(0.95,0.9999), 1000, 0.01))'
  // → first yellow / first red: 9 / 15 for n = 500, 15 / 24 for n = 1000.
  it.each([
    [500, 8, 'green'],
    [500, 9, 'yellow'],
    [500, 14, 'yellow'],
    [500, 15, 'red'],
    [1000, 14, 'green'],
    [1000, 15, 'yellow'],
    [1000, 23, 'yellow'],
    [1000, 24, 'red'],
  ])('n = %s, %s breaches is %s', (n, breaches, zone) => {
    // Act
    const result = trafficLight(n, breaches, 0.01);

    // Assess
    expect(result.zone).toBe(zone);
  });

  it('calls zero breaches green even where (1−p)^n ≥ 95% (tiny or empty windows)', () => {
    // Act
    const [tiny, empty] = [trafficLight(3, 0, 0.01), trafficLight(0, 0, 0.01)];

    // Assess: the raw rule would say yellow (0.99³ = 0.970) and red (P = 1).
    expect(tiny.zone).toBe('green');
    expectClose(tiny.cumulativeProbability, 0.99 ** 3, { rel: 1e-15 });
    expect(empty.zone).toBe('green');
  });

  it('never improves when breaches increase', () => {
    const rank = { green: 0, yellow: 1, red: 2 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0.001, max: 0.1, noNaN: true }),
        (n, p) => {
          // Act
          const zones = Array.from(
            { length: Math.min(n, 60) + 1 },
            (_, k) => rank[trafficLight(n, k, p).zone],
          );

          // Assess
          for (let k = 1; k < zones.length; k++) expect(zones[k]).toBeGreaterThanOrEqual(zones[k - 1] ?? 0);
        },
      ),
    );
  });
});

describe('procyclicality', () => {
  // margin-methods.md §6.3 toy series.
  const im = [100, 98, 97, 99, 120, 150, 160, 155, 140, 130, 110, 105];

  it('peak-to-trough = 160/97 = 1.649485', () => {
    // Act
    const ratio = peakToTrough(im);

    // Assess
    expectClose(ratio, 1.649485, { abs: 5e-7 });
    expect(ratio).toBe(160 / 97);
  });

  it('max 1-day increase = 1.25 and max 5-day increase = 1.632653', () => {
    // Act
    const [oneDay, fiveDay] = [maxIncrease(im, 1), maxIncrease(im, 5)];

    // Assess
    expect(oneDay).toBe(1.25);
    expectClose(fiveDay, 1.632653, { abs: 5e-7 });
    expect(fiveDay).toBe(160 / 98);
  });

  it('is below 1 for a falling series, 1 for a flat one, and sees the last pair', () => {
    // Act / Assess
    expect(maxIncrease([4, 3, 2, 1], 1)).toBe(3 / 4);
    expect(maxIncrease([100, 100, 90, 120], 1)).toBe(120 / 90); // the best pair is the last one
    expect(maxIncrease([100, 100, 90, 120], 3)).toBe(1.2); // a single pair
    expect(peakToTrough([5, 5, 5])).toBe(1);
  });

  it('rejects empty, non-positive or too-short series and bad horizons', () => {
    // Act / Assess
    expect(() => peakToTrough([])).toThrow(RangeError);
    expect(() => peakToTrough([1, 0, 2])).toThrow('series[1]');
    expect(() => maxIncrease([1, 2, 3], 3)).toThrow(RangeError);
    expect(() => maxIncrease([1, 2, 3], 0)).toThrow(RangeError);
    expect(() => maxIncrease([1, 2, 3], 1.5)).toThrow(RangeError);
  });
});
