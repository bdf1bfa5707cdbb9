// Test fixtures for valuation: thresholds with chosen rates and brackets, snapshots and accounts.
import type { Account, Collateral, Position } from '../../../lib/domain/account/account.ts';
import type { NotionalBracket, Threshold } from '../../../lib/domain/threshold/threshold.ts';
import type { ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import { createMarketSnapshot, type MarketSnapshot } from '../../../lib/domain/valuation/snapshot.ts';

export const AS_OF = Date.parse('2026-11-24T00:00:00Z');
export const DAY_MS = 86_400_000;

/** ISO time `days` after AS_OF. */
export function inDays(days: number): string {
  return new Date(AS_OF + days * DAY_MS).toISOString();
}

export interface ThresholdOptions {
  readonly initialMarginRate?: number;
  readonly maintenanceMarginRate?: number;
  /** Default: one unbounded bracket at the base rates. */
  readonly brackets?: readonly NotionalBracket[];
  readonly openInterestScaling?: { lowerCap: number; upperCap: number };
  readonly liquidity?: { averageDailyVolume: number; participationRate: number };
  /** Daily σ the fallback option volatility is derived from (× √365). */
  readonly effectiveVolatility?: number;
  readonly referencePrice?: number;
}

/** A computed threshold with the given rates; no liquidity add-on unless asked. */
export function thresholdFor(instrument: string, options: ThresholdOptions = {}): Threshold {
  const im = options.initialMarginRate ?? 0.1;
  const mm = options.maintenanceMarginRate ?? 0.05;
  return {
    instrument,
    asOf: '2026-11-23',
    referencePrice: options.referencePrice ?? 100,
    initialMarginRate: im,
    maintenanceMarginRate: mm,
    warningMarginRate: mm * 1.2,
    liquidationMarginRate: mm * 0.8,
    status: 'computed',
    activeBound: 'model',
    components: {
      volatility: { ewma: options.effectiveVolatility ?? 0.03 },
      effectiveVolatility: options.effectiveVolatility ?? 0.03,
      riskMultiplier: 2.33,
      modelRate: im,
      unboundedRate: im,
    },
    brackets: options.brackets ?? [
      { notionalFloor: 0, notionalCap: null, initialMarginRate: im, maintenanceMarginRate: mm, cum: 0 },
    ],
    ...(options.openInterestScaling ? { openInterestScaling: options.openInterestScaling } : {}),
    ...(options.liquidity ? { liquidity: options.liquidity } : {}),
    inputs: {
      policyVersion: 'test',
      policyHash: '0'.repeat(64),
      pricesHash: '0'.repeat(64),
      source: 'test',
      firstCandle: '2024-11-23',
      lastCandle: '2026-11-23',
      candleCount: 731,
    },
  };
}

/** BTCUSDT brackets of the 2021-03-18 Binance announcement (margin-methods.md §3.2), cum as published. */
export const BINANCE_BTCUSDT: readonly NotionalBracket[] = [
  [0, 50e3, 0.008, 0.004, 0],
  [50e3, 250e3, 0.01, 0.005, 50],
  [250e3, 1e6, 0.02, 0.01, 1_300],
  [1e6, 10e6, 0.05, 0.025, 16_300],
  [10e6, 20e6, 0.1, 0.05, 266_300],
  [20e6, 50e6, 0.2, 0.1, 1_266_300],
  [50e6, 100e6, 0.25, 0.125, 2_516_300],
  [100e6, 200e6, 1 / 3, 0.15, 5_016_300],
  [200e6, 300e6, 0.5, 0.25, 25_016_300],
  [300e6, null, 1, 0.5, 100_016_300],
].map(([floor, cap, im, mm, cum]) => ({
  notionalFloor: floor as number,
  notionalCap: cap as number | null,
  initialMarginRate: im as number,
  maintenanceMarginRate: mm as number,
  cum: cum as number,
}));

export interface MarketOptions extends ThresholdOptions {
  readonly markPrice: number;
  readonly impliedVolatility?: number;
  readonly openInterestNotional?: number;
}

/** A snapshot from per-instrument options; each instrument's asset is priced at its mark. */
export function snapshotOf(
  markets: Readonly<Record<string, MarketOptions>>,
  policy?: ValuationPolicyInput,
  assetPrices: Readonly<Record<string, number>> = { USDT: 1 },
): MarketSnapshot {
  const instruments: Record<string, Parameters<typeof createMarketSnapshot>[0]['instruments'][string]> = {};
  const prices: Record<string, number> = { ...assetPrices };
  for (const [instrument, market] of Object.entries(markets)) {
    instruments[instrument] = {
      markPrice: market.markPrice,
      threshold: thresholdFor(instrument, market),
      ...(market.impliedVolatility === undefined ? {} : { impliedVolatility: market.impliedVolatility }),
      ...(market.openInterestNotional === undefined
        ? {}
        : { openInterestNotional: market.openInterestNotional }),
    };
    prices[instrument] ??= market.markPrice;
  }
  return createMarketSnapshot({ instruments, assetPrices: prices, ...(policy ? { policy } : {}) });
}

export function usd(amount: string): Collateral {
  return { asset: 'USD', amount };
}

export function accountOf(
  positions: readonly Position[],
  collateral: readonly Collateral[] = [usd('10000')],
): Account {
  return { accountId: 'acc-1', collateral: [...collateral], positions: [...positions] };
}

export function linear(instrument: string, quantity: string, entryPrice: string): Position {
  return { kind: 'perpetual', instrument, quantity, entryPrice, settlement: 'linear' };
}

export function option(
  instrument: string,
  optionType: 'call' | 'put',
  strike: string,
  quantity: string,
  expiry: string,
  markVolatility?: number,
): Position {
  return {
    kind: 'option',
    instrument,
    optionType,
    strike,
    expiry,
    quantity,
    entryPrice: '0',
    ...(markVolatility === undefined ? {} : { markVolatility }),
  };
}
