import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitGarch11, garchNegLogLik } from '../../../../lib/domain/volatility/index.ts';
import { SHARED_REFERENCE } from '../../shared.ts';
import { readDailyCandles, readJson, windowReturns } from './price-history.ts';

/** One fGarch reference fit: percent (or fractional) returns dated by their second close in [from, to]. */
interface FgarchFit {
  readonly file: string;
  readonly symbol: string;
  readonly from: string;
  readonly to: string;
  /** Multiplier on the log returns: 100 for percent (the JSON file's unit), 1 for fractions. */
  readonly unit?: number;
  readonly n: number;
  readonly omega: number;
  readonly alpha: number;
  readonly beta: number;
  readonly negLogLik: number;
  readonly sigmaNext: number;
}

const published = readJson<{ readonly fits: readonly FgarchFit[] }>(
  join(SHARED_REFERENCE, 'garch-fgarch.json'),
).fits;

/**
 * Extra windows fitted here with R fGarch 4022.89 (Debian r-cran-fgarch) to check the fit independently:
 *
 *   d <- read.csv('../shared/data/ETH-USD.csv'); r <- unit * diff(log(d$Close)); dates <- d$Date[-1]
 *   x <- r[dates >= from & dates <= to]
 *   f <- garchFit(~garch(1,1), data = x, include.mean = FALSE, cond.dist = 'norm', trace = FALSE)
 *   coef(f); f@fit$llh; predict(f, n.ahead = 1)$standardDeviation[1]
 *
 * BTC 2016–2018 is close to integrated (α + β ≈ 0.9958), a harder case for the optimiser.
 */
const computedWithR: readonly FgarchFit[] = [
  {
    file: '../shared/data/ETH-USD.csv',
    symbol: 'ETH',
    from: '2019-01-01',
    to: '2022-12-31',
    unit: 100,
    n: 1461,
    omega: 2.00986943019615,
    alpha: 0.11759456893815,
    beta: 0.80744010690185,
    negLogLik: 4333.97686835375,
    sigmaNext: 3.39078319795629,
  },
  {
    file: '../shared/data/ETH-USD.csv',
    symbol: 'ETH',
    from: '2019-01-01',
    to: '2022-12-31',
    unit: 1,
    n: 1461,
    omega: 0.000200986943166636,
    alpha: 0.117594569050152,
    beta: 0.807440106784661,
    negLogLik: -2394.17677337486,
    sigmaNext: 0.0339078319805794,
  },
  {
    file: '../shared/data/BTC-USD.csv',
    symbol: 'BTC',
    from: '2016-01-01',
    to: '2018-12-31',
    unit: 100,
    n: 1096,
    omega: 0.27856897412414,
    alpha: 0.133493068182244,
    beta: 0.862293744693001,
    negLogLik: 2922.36473263426,
    sigmaNext: 4.50314320195334,
  },
  {
    file: '../shared/data/SOL-USD.csv',
    symbol: 'SOL',
    from: '2021-01-01',
    to: '2023-07-31',
    unit: 100,
    n: 942,
    omega: 8.07862406588499,
    alpha: 0.264549389533409,
    beta: 0.580137347017415,
    negLogLik: 3079.10160158231,
    sigmaNext: 4.91738044234181,
  },
];

function referenceReturns(reference: FgarchFit): number[] {
  return windowReturns(readDailyCandles(reference.file), reference.from, reference.to, reference.unit ?? 100);
}

function relativeDifference(actual: number, expected: number): number {
  return Math.abs(actual / expected - 1);
}

const cases = [
  ...published.map((fit) => ({ source: 'garch-fgarch.json', ...fit, unit: fit.unit ?? 100 })),
  ...computedWithR.map((fit) => ({ source: 'R here', ...fit, unit: fit.unit ?? 100 })),
];

describe.each(cases)(
  'GARCH(1,1) against fGarch: $symbol from $from to $to, unit $unit ($source)',
  (reference) => {
    const returns = referenceReturns(reference);

    it('windows the same returns and reproduces fGarch’s likelihood at its own parameters', () => {
      // Act
      const atReference = garchNegLogLik(returns, reference);

      // Assess
      expect(returns).toHaveLength(reference.n);
      expect(Math.abs(atReference - reference.negLogLik)).toBeLessThan(1e-6);
    });

    it('fits a likelihood no worse than fGarch’s, with ω, α, β and σ_next within 2%', () => {
      // Act
      const fit = fitGarch11(returns);

      // Assess
      expect(fit.converged).toBe(true);
      expect(fit.n).toBe(reference.n);
      expect(fit.negLogLik).toBeLessThanOrEqual(reference.negLogLik + 1e-6);
      expect(relativeDifference(fit.omega, reference.omega)).toBeLessThan(0.02);
      expect(relativeDifference(fit.alpha, reference.alpha)).toBeLessThan(0.02);
      expect(relativeDifference(fit.beta, reference.beta)).toBeLessThan(0.02);
      expect(relativeDifference(fit.sigmaNext, reference.sigmaNext)).toBeLessThan(0.02);
      expect(fit.omega).toBeGreaterThan(0);
      expect(fit.persistence).toBeLessThan(1);
    });
  },
);

describe('GARCH(1,1) fit speed', () => {
  it('fits 1,461 daily returns in well under 20 ms once warmed up (median of 25)', () => {
    // Prepare
    const reference = published.find((fit) => fit.n === 1461) as FgarchFit;
    const returns = referenceReturns(reference);
    for (let i = 0; i < 25; i++) fitGarch11(returns);

    // Act
    const durations: number[] = [];
    for (let i = 0; i < 25; i++) {
      const started = performance.now();
      fitGarch11(returns);
      durations.push(performance.now() - started);
    }

    // Assess
    durations.sort((a, b) => a - b);
    expect(durations[12]).toBeLessThan(20);
  });
});
