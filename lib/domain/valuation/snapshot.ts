/**
 * The market an account is valued against: per instrument its mark price, threshold, implied volatility
 * and open interest; per collateral asset its price; and the valuation policy. Prices are in the quote
 * currency (USD); USD itself is always 1.
 *
 * A sweep builds it with `marketSnapshotAt` from three separate things: the threshold set (risk
 * parameters), a `MarkSnapshot` (market data: live marks, or reference closes said so) and the valuation
 * policy. The threshold's `referencePrice` is not a mark there; it stays on the threshold for audit.
 */
import { MarketDataError } from '../errors.ts';
import type { MarkSnapshot } from '../market/mark.ts';
import type { PairCorrelation } from '../threshold/correlation.ts';
import type { Threshold, ThresholdSet } from '../threshold/threshold.ts';
import {
  DEFAULT_VALUATION_POLICY,
  parseValuationPolicy,
  type ValuationPolicy,
  type ValuationPolicyInput,
} from './policy.ts';

export interface InstrumentMarket {
  readonly instrument: string;
  /** Mark of the underlying (quote currency): futures P&L, option forward, notional. */
  readonly markPrice: number;
  /** When the mark was observed (ms), from the sweep's `MarkSnapshot`; absent for plain prices given by hand. */
  readonly markedAt?: number;
  readonly threshold: Threshold;
  /**
   * Implied volatility (annualised) options on this instrument are marked at unless a position carries its
   * own `markVolatility`. Without either, the threshold's effective daily σ × √365 is used.
   */
  readonly impliedVolatility?: number;
  /** Open interest (quote notional) for dYdX-style scaling; without it the initial margin is not scaled. */
  readonly openInterestNotional?: number;
}

export interface MarketSnapshot {
  readonly instruments: ReadonlyMap<string, InstrumentMarket>;
  /** Price per unit of each collateral asset (quote currency). */
  readonly assetPrices: ReadonlyMap<string, number>;
  readonly policy: ValuationPolicy;
  /** The set's estimated pair correlations (`ThresholdSet.correlations`): offsets when the policy says so. */
  readonly correlations?: readonly PairCorrelation[];
}

export interface InstrumentMarketInput {
  readonly markPrice?: number;
  readonly markedAt?: number;
  readonly threshold: Threshold;
  readonly impliedVolatility?: number;
  readonly openInterestNotional?: number;
}

export interface MarketSnapshotInput {
  /** Keyed by instrument symbol; the mark defaults to the threshold's reference price. */
  readonly instruments: Readonly<Record<string, InstrumentMarketInput>>;
  /** Collateral prices; USD is always 1 and needs no entry. */
  readonly assetPrices?: Readonly<Record<string, number>>;
  readonly policy?: ValuationPolicyInput | ValuationPolicy;
  readonly correlations?: readonly PairCorrelation[];
}

/** The quote currency: its price is 1 by definition. */
export const QUOTE_ASSET = 'USD';

/**
 * Build a snapshot, checking every number: marks positive, volatilities positive, open interest and asset
 * prices not negative, each threshold filed under its own instrument. A bad value throws `MarketDataError`
 * naming the instrument (or asset).
 *
 * @example
 * createMarketSnapshot({ instruments: { BTC: { markPrice: 100_000, threshold } }, assetPrices: { USDT: 1 } });
 */
export function createMarketSnapshot(input: MarketSnapshotInput): MarketSnapshot {
  const instruments = new Map<string, InstrumentMarket>();
  for (const [instrument, market] of Object.entries(input.instruments)) {
    const { threshold } = market;
    if (threshold.instrument !== instrument) {
      throw new MarketDataError(
        `threshold for ${threshold.instrument} filed under ${instrument}`,
        instrument,
      );
    }
    const markPrice = market.markPrice ?? threshold.referencePrice;
    requirePositive(instrument, 'mark price', markPrice);
    requireRate(instrument, 'initial margin rate', threshold.initialMarginRate);
    requireRate(instrument, 'maintenance margin rate', threshold.maintenanceMarginRate);
    if (market.markedAt !== undefined && !Number.isFinite(market.markedAt)) {
      throw new MarketDataError(`${instrument}: mark time is not a time`, instrument);
    }
    if (market.impliedVolatility !== undefined) {
      requirePositive(instrument, 'implied volatility', market.impliedVolatility);
    }
    if (market.openInterestNotional !== undefined) {
      requireNonNegative(instrument, 'open interest', market.openInterestNotional);
    }
    instruments.set(instrument, {
      instrument,
      markPrice,
      ...(market.markedAt === undefined ? {} : { markedAt: market.markedAt }),
      threshold,
      ...(market.impliedVolatility === undefined ? {} : { impliedVolatility: market.impliedVolatility }),
      ...(market.openInterestNotional === undefined
        ? {}
        : { openInterestNotional: market.openInterestNotional }),
    });
  }
  const assetPrices = new Map<string, number>();
  for (const [asset, price] of Object.entries(input.assetPrices ?? {})) {
    requireNonNegative(asset, 'asset price', price);
    assetPrices.set(asset, price);
  }
  assetPrices.set(QUOTE_ASSET, 1);
  const policy = input.policy === undefined ? DEFAULT_VALUATION_POLICY : parseValuationPolicy(input.policy);
  return {
    instruments,
    assetPrices,
    policy,
    ...(input.correlations === undefined ? {} : { correlations: input.correlations }),
  };
}

export interface SnapshotFromSetOptions {
  /** Live marks; an instrument without one is marked at its threshold's reference price. */
  readonly markPrices?: Readonly<Record<string, number>>;
  readonly impliedVolatility?: Readonly<Record<string, number>>;
  readonly openInterestNotional?: Readonly<Record<string, number>>;
  /** Extra or overriding collateral prices. */
  readonly assetPrices?: Readonly<Record<string, number>>;
  /**
   * Assets priced at 1 quote unit. Default USD, USDT, USDC: a stablecoin's depeg risk is its haircut's job.
   * @default ['USD', 'USDT', 'USDC']
   */
  readonly stablecoins?: readonly string[];
  readonly policy?: ValuationPolicyInput | ValuationPolicy;
}

/**
 * A snapshot from a threshold set with prices given per instrument (the live price given, else the
 * threshold's reference price), collateral in an instrument's asset (e.g. BTC) at that mark, and stablecoins
 * at 1. Tests and tools that have plain prices use it; a sweep uses `marketSnapshotAt`.
 *
 * @example
 * const snapshot = marketSnapshotFromSet(set, { markPrices: { BTC: 101_250 } });
 */
export function marketSnapshotFromSet(
  set: ThresholdSet,
  options: SnapshotFromSetOptions = {},
): MarketSnapshot {
  return snapshotFromSet(
    set,
    (threshold) => options.markPrices?.[threshold.instrument] ?? threshold.referencePrice,
    options,
  );
}

/** What `marketSnapshotAt` takes besides the set and the marks. */
export type SnapshotAtOptions = Omit<SnapshotFromSetOptions, 'markPrices'>;

/**
 * The snapshot a sweep values accounts against: each instrument of the threshold set at its mark in `marks`
 * (the threshold's reference price is never used as a fallback), collateral in an instrument's asset at
 * that mark, stablecoins at 1, and `options.policy` (default: the documented defaults). An instrument held
 * in `marks`, or not in it at all, is left out: accounts holding it are reported as unvaluable and keep
 * their state, never valued at a made-up price. A mark that is not a positive number throws
 * `MarketDataError` naming the instrument (a snapshot built by hand skips `createMarkSnapshot`'s checks).
 *
 * @example
 * const snapshot = marketSnapshotAt(set, referenceCloseMarks(set, now), { policy: config.valuation });
 */
export function marketSnapshotAt(
  set: ThresholdSet,
  marks: MarkSnapshot,
  options: SnapshotAtOptions = {},
): MarketSnapshot {
  return snapshotFromSet(
    set,
    (threshold) => {
      const mark = marks.marks.get(threshold.instrument);
      if (mark === undefined) return undefined;
      requirePositive(threshold.instrument, 'mark price', mark.price);
      return mark.price;
    },
    options,
    // The mark's own time travels with its price: each alert says when the prices that valued it were seen.
    (threshold) => marks.marks.get(threshold.instrument)?.at,
  );
}

function snapshotFromSet(
  set: ThresholdSet,
  markOf: (threshold: Threshold) => number | undefined,
  options: SnapshotAtOptions,
  markedAtOf: (threshold: Threshold) => number | undefined = () => undefined,
): MarketSnapshot {
  const instruments: Record<string, InstrumentMarketInput> = {};
  const assetPrices: Record<string, number> = {};
  for (const coin of options.stablecoins ?? ['USD', 'USDT', 'USDC']) assetPrices[coin] = 1;
  for (const threshold of set.thresholds) {
    const symbol = threshold.instrument;
    const markPrice = markOf(threshold);
    // No price at all (a new listing with unusable data, a held mark) cannot mark positions: leave it out,
    // so accounts holding it are reported as unvaluable rather than valued at a made-up mark.
    if (markPrice === undefined || !(markPrice > 0)) continue;
    const impliedVolatility = options.impliedVolatility?.[symbol];
    const openInterestNotional = options.openInterestNotional?.[symbol];
    const markedAt = markedAtOf(threshold);
    instruments[symbol] = {
      markPrice,
      ...(markedAt === undefined ? {} : { markedAt }),
      threshold,
      ...(impliedVolatility === undefined ? {} : { impliedVolatility }),
      ...(openInterestNotional === undefined ? {} : { openInterestNotional }),
    };
    assetPrices[symbol] = markPrice;
  }
  Object.assign(assetPrices, options.assetPrices);
  return createMarketSnapshot({
    instruments,
    assetPrices,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(set.correlations === undefined ? {} : { correlations: set.correlations }),
  });
}

function requirePositive(
  instrument: string,
  what: string,
  value: number | undefined,
): asserts value is number {
  if (value === undefined || !(value > 0) || !Number.isFinite(value)) {
    throw new MarketDataError(`${instrument}: ${what} must be a positive number, got ${value}`, instrument);
  }
}

function requireNonNegative(instrument: string, what: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new MarketDataError(
      `${instrument}: ${what} must be a non-negative number, got ${value}`,
      instrument,
    );
  }
}

function requireRate(instrument: string, what: string, value: number): void {
  if (!(value > 0 && value <= 1)) {
    throw new MarketDataError(`${instrument}: ${what} must be in (0, 1], got ${value}`, instrument);
  }
}
