import { MarketDataError } from '../errors.ts';
import type { Candle } from '../market/candle.ts';
import { logReturns } from './returns.ts';

/**
 * Range (OHLC) volatility estimators. Each returns a DAILY σ as a fraction, estimated over the bars given
 * (one bar per day); annualise with √365 for crypto, which trades every day. They use the intraday path
 * the close-to-close estimator throws away, so they need fewer days for the same precision, but they miss
 * gaps between bars (only Yang–Zhang counts the overnight move, which is ≈ 0 for 24/7 markets).
 */

/** Instrument name in errors: these estimators are not told which instrument the bars belong to. */
const UNNAMED_INSTRUMENT = '(unnamed)';
const LN2 = Math.LN2;

/**
 * Close-to-close volatility of log returns. `closes` includes the close before the first return, so N
 * closes give N − 1 returns. Zero-mean by default (√(Σr²/N), as RiskMetrics and the margin models assume:
 * the daily drift is noise next to σ); with `demean` the sample standard deviation (N − 1 divisor).
 *
 * @throws RangeError on a non-finite or non-positive close, or too few closes (2, or 3 with `demean`).
 * @example
 * closeToCloseVolatility([101, 103, 101.5, 100, 98.5, 100]); // 0.0159889
 * closeToCloseVolatility([101, 103, 101.5, 100, 98.5, 100], { demean: true }); // 0.0177371
 */
export function closeToCloseVolatility(
  closes: readonly number[],
  options?: { readonly demean?: boolean },
): number {
  const returns = logReturns(closes);
  const n = returns.length;
  const demean = options?.demean ?? false;
  if (n < (demean ? 2 : 1)) {
    throw new RangeError(
      `close-to-close volatility needs at least ${demean ? 3 : 2} closes${demean ? ' when demeaned' : ''}; got ${closes.length}`,
    );
  }
  let mean = 0;
  if (demean) {
    for (const r of returns) mean += r;
    mean /= n;
  }
  let sumSquares = 0;
  for (const r of returns) sumSquares += (r - mean) * (r - mean);
  return Math.sqrt(sumSquares / (demean ? n - 1 : n));
}

/**
 * Parkinson (1980): σ² = Σ ln(H/L)² / (4 ln 2 · N). Uses the high–low range only, so it misses drift and
 * the close; about five times as efficient as close-to-close for a driftless random walk.
 *
 * @throws MarketDataError on an empty list or a bar with non-positive, non-finite or inconsistent prices.
 * @example
 * parkinsonVolatility([{ time: 0, open: 101, high: 103.5, low: 100.5, close: 103, volume: 0 }]); // 0.0176648
 */
export function parkinsonVolatility(bars: readonly Candle[]): number {
  assertBars(bars, 'Parkinson');
  let sum = 0;
  for (const bar of bars) {
    const range = Math.log(bar.high / bar.low);
    sum += range * range;
  }
  return Math.sqrt(sum / (4 * LN2 * bars.length));
}

/**
 * Garman–Klass (1980): σ² = (1/N) Σ [½ ln(H/L)² − (2 ln 2 − 1) ln(C/O)²]. Adds the open-to-close move to
 * Parkinson; still assumes no drift. A single bar can give a negative term; the mean is floored at 0.
 *
 * @throws MarketDataError as {@link parkinsonVolatility}.
 * @example
 * garmanKlassVolatility(fiveBars); // 0.0177779 on the margin-methods sample
 */
export function garmanKlassVolatility(bars: readonly Candle[]): number {
  assertBars(bars, 'Garman–Klass');
  const closeWeight = 2 * LN2 - 1;
  let sum = 0;
  for (const bar of bars) {
    const range = Math.log(bar.high / bar.low);
    const body = Math.log(bar.close / bar.open);
    sum += 0.5 * range * range - closeWeight * body * body;
  }
  return Math.sqrt(Math.max(0, sum / bars.length));
}

/**
 * Rogers–Satchell (1991): σ² = (1/N) Σ [ln(H/C)·ln(H/O) + ln(L/C)·ln(L/O)]. Unbiased under drift, which
 * is why Yang–Zhang builds on it.
 *
 * @throws MarketDataError as {@link parkinsonVolatility}.
 * @example
 * rogersSatchellVolatility(fiveBars); // 0.0171429 on the margin-methods sample
 */
export function rogersSatchellVolatility(bars: readonly Candle[]): number {
  assertBars(bars, 'Rogers–Satchell');
  return Math.sqrt(rogersSatchellVariance(bars));
}

/**
 * Yang–Zhang (2000): σ² = σ²_overnight + k σ²_open→close + (1 − k) σ²_RS with k = 0.34 / (1.34 + (N+1)/(N−1)),
 * σ²_overnight and σ²_open→close sample variances (N − 1) of ln(O_i/C_{i−1}) and ln(C_i/O_i). Handles both
 * drift and gaps between bars; the minimum-variance combination of the three.
 *
 * @param previousClose close of the bar before the first one (C₀), for the first overnight return.
 * @throws MarketDataError on fewer than 2 bars or bad prices; RangeError on a bad previous close.
 * @example
 * yangZhangVolatility(fiveBars, 101); // 0.0172151 on the margin-methods sample (k = 0.1197183)
 */
export function yangZhangVolatility(bars: readonly Candle[], previousClose: number): number {
  assertBars(bars, 'Yang–Zhang');
  const n = bars.length;
  if (n < 2) {
    throw new MarketDataError(
      `Yang–Zhang volatility needs at least 2 bars for its sample variances; got ${n}`,
      UNNAMED_INSTRUMENT,
      bars[0]?.time,
    );
  }
  if (!(Number.isFinite(previousClose) && previousClose > 0)) {
    throw new RangeError(`Yang–Zhang previous close is ${previousClose}; it must be finite and positive`);
  }
  const overnight = new Float64Array(n);
  const openToClose = new Float64Array(n);
  let priorClose = previousClose;
  for (let i = 0; i < n; i++) {
    const bar = bars[i] as Candle;
    overnight[i] = Math.log(bar.open / priorClose);
    openToClose[i] = Math.log(bar.close / bar.open);
    priorClose = bar.close;
  }
  const k = yangZhangWeight(n);
  const variance =
    sampleVariance(overnight) + k * sampleVariance(openToClose) + (1 - k) * rogersSatchellVariance(bars);
  return Math.sqrt(Math.max(0, variance));
}

/**
 * Yang–Zhang's weight k on the open-to-close variance for N bars (their choice with α = 1.34, which
 * minimises the estimator's variance).
 *
 * @example
 * yangZhangWeight(5); // 0.1197183
 */
export function yangZhangWeight(barCount: number): number {
  return 0.34 / (1.34 + (barCount + 1) / (barCount - 1));
}

function rogersSatchellVariance(bars: readonly Candle[]): number {
  let sum = 0;
  for (const bar of bars) {
    const highOverClose = Math.log(bar.high / bar.close);
    const highOverOpen = Math.log(bar.high / bar.open);
    const lowOverClose = Math.log(bar.low / bar.close);
    const lowOverOpen = Math.log(bar.low / bar.open);
    sum += highOverClose * highOverOpen + lowOverClose * lowOverOpen;
  }
  return sum / bars.length;
}

function sampleVariance(values: Float64Array): number {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const deviation = (values[i] as number) - mean;
    sum += deviation * deviation;
  }
  return sum / (n - 1);
}

/**
 * Every price finite and positive and the bar internally consistent (low ≤ open, close ≤ high): a bar
 * that breaks this would make the logs above meaningless or the variance negative.
 */
function assertBars(bars: readonly Candle[], estimator: string): void {
  if (bars.length === 0) {
    throw new MarketDataError(`${estimator} volatility needs at least one bar; got none`, UNNAMED_INSTRUMENT);
  }
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i] as Candle;
    for (const [field, price] of [
      ['open', bar.open],
      ['high', bar.high],
      ['low', bar.low],
      ['close', bar.close],
    ] as const) {
      if (!(Number.isFinite(price) && price > 0)) {
        throw new MarketDataError(
          `${estimator} volatility: bar ${i} (time ${bar.time}) has ${field} ${price}; prices must be finite and positive`,
          UNNAMED_INSTRUMENT,
          bar.time,
        );
      }
    }
    if (bar.low > Math.min(bar.open, bar.close) || bar.high < Math.max(bar.open, bar.close)) {
      throw new MarketDataError(
        `${estimator} volatility: bar ${i} (time ${bar.time}) is inconsistent: low ${bar.low}, high ${bar.high} do not bracket open ${bar.open} and close ${bar.close}`,
        UNNAMED_INSTRUMENT,
        bar.time,
      );
    }
  }
}
