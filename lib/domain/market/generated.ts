/**
 * Synthetic daily candles for demos and tests when there is no network and no file (DESIGN §9). They look
 * like crypto — volatility clusters (GARCH(1,1)) and fat tails (Student-t shocks) — and are labelled as
 * generated wherever they go, so nobody mistakes a demo threshold for one computed on market data.
 */
import { type Candle, type CandleSeries, DAY_MS } from './candle.ts';

/** The `source` of every generated series; audit records and reports show it. */
export const GENERATED_SOURCE = 'generated (synthetic, not market data)';

export interface GenerateCandlesOptions {
  readonly instrument: string;
  /** Number of daily candles (≥ 1). */
  readonly days: number;
  /** The last candle is the last whole UTC day that has closed by this time (ms), so `asOf = endTime` is fresh. */
  readonly endTime: number;
  /** Open of the first candle, in the quote currency. */
  readonly startPrice: number;
  /** Same seed, same candles. */
  readonly seed: number;
  /** Unconditional volatility of daily log returns, annualised over 365 days (crypto trades every day). Default 0.6. */
  readonly annualVolatility?: number;
  /** Typical daily volume in the quote currency at `startPrice`; it scales with price. Default 1e9. */
  readonly averageDailyVolume?: number;
}

/** GARCH(1,1) shape: persistence 0.96, and β² + 2αβ + 3α²(ν−2)/(ν−4) < 1 so returns have finite kurtosis. */
const GARCH_ALPHA = 0.06;
const GARCH_BETA = 0.9;
/** Student-t degrees of freedom: tails as heavy as daily crypto returns, with finite kurtosis (ν > 4). */
const STUDENT_T_DOF = 5;
/** Intraday steps of the Brownian bridge that gives each bar its high and low. */
const INTRADAY_STEPS = 24;

/**
 * Deterministic synthetic daily candles: GARCH(1,1) variance, unit-variance Student-t(5) shocks, zero-mean
 * log returns, open = previous close, high/low from a Brownian bridge between open and close. Source is
 * {@link GENERATED_SOURCE}.
 *
 * @example
 * const series = generateCandles({ instrument: 'BTC', days: 365, endTime: Date.now(), startPrice: 30_000, seed: 42 });
 * series.source; // 'generated (synthetic, not market data)'
 */
export function generateCandles(options: GenerateCandlesOptions): CandleSeries {
  const { instrument, days, endTime, startPrice, seed } = options;
  const annualVolatility = options.annualVolatility ?? 0.6;
  const averageDailyVolume = options.averageDailyVolume ?? 1e9;
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`days must be a positive integer, got ${days}`);
  if (!Number.isFinite(endTime)) throw new RangeError(`endTime must be a finite timestamp, got ${endTime}`);
  requirePositive('startPrice', startPrice);
  requirePositive('annualVolatility', annualVolatility);
  requirePositive('averageDailyVolume', averageDailyVolume);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);

  const random = new SeededRandom(seed);
  const dailyVariance = annualVolatility ** 2 / 365;
  const omega = dailyVariance * (1 - GARCH_ALPHA - GARCH_BETA);
  const lastTime = Math.floor(endTime / DAY_MS) * DAY_MS - DAY_MS;
  const firstTime = lastTime - (days - 1) * DAY_MS;

  const candles: Candle[] = [];
  let variance = dailyVariance;
  let open = startPrice;
  for (let day = 0; day < days; day++) {
    const sigma = Math.sqrt(variance);
    const shock = random.standardisedStudentT(STUDENT_T_DOF);
    const logReturn = sigma * shock;
    const close = open * Math.exp(logReturn);
    const [lowestLog, highestLog] = bridgeExtremes(random, logReturn, sigma);
    candles.push({
      time: firstTime + day * DAY_MS,
      open,
      // The endpoints themselves bound the bar, so high ≥ max(open, close) holds exactly, not up to rounding.
      high: Math.max(open, close, open * Math.exp(highestLog)),
      low: Math.min(open, close, open * Math.exp(lowestLog)),
      close,
      // Volume rises with price and with the size of the move, as on real venues.
      volume:
        averageDailyVolume * (close / startPrice) * Math.exp(0.3 * random.normal()) * (0.5 + Math.abs(shock)),
    });
    variance = omega + GARCH_ALPHA * logReturn ** 2 + GARCH_BETA * variance;
    open = close;
  }
  return { instrument, intervalMs: DAY_MS, candles, source: GENERATED_SOURCE };
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number, got ${value}`);
}

/** Lowest and highest log price (relative to the open) of a Brownian bridge from 0 to `logReturn`. */
function bridgeExtremes(random: SeededRandom, logReturn: number, sigma: number): [number, number] {
  const stepSigma = sigma / Math.sqrt(INTRADAY_STEPS);
  const walk: number[] = [0];
  for (let step = 1; step <= INTRADAY_STEPS; step++) {
    walk.push((walk[step - 1] as number) + stepSigma * random.normal());
  }
  const end = walk[INTRADAY_STEPS] as number;
  let lowest = 0;
  let highest = 0;
  for (let step = 1; step < INTRADAY_STEPS; step++) {
    const level = (walk[step] as number) - (step / INTRADAY_STEPS) * (end - logReturn);
    lowest = Math.min(lowest, level);
    highest = Math.max(highest, level);
  }
  return [lowest, highest];
}

/** mulberry32: small, fast, and the same sequence on every platform for a given 32-bit seed. */
class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // Fold large and negative seeds into 32 bits deterministically (fractions are ignored).
    this.state = ((Math.trunc(seed) >>> 0) ^ (Math.trunc(seed / 2 ** 32) >>> 0)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal by Box–Muller (one draw per call keeps the sequence simple to reason about). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log(0) would be -Infinity
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Student-t with integer `dof` > 2, scaled to unit variance so σ keeps its meaning. */
  standardisedStudentT(dof: number): number {
    let chiSquare = 0;
    for (let i = 0; i < dof; i++) chiSquare += this.normal() ** 2;
    return (this.normal() / Math.sqrt(chiSquare / dof)) * Math.sqrt((dof - 2) / dof);
  }
}
