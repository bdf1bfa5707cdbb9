/**
 * The threshold record the model returns: a computed one (rates, levels, notional brackets, audit inputs) or
 * a held one (the previous threshold kept, or the policy's cap when there is none), and the prices' audit hash.
 */
import { createHash } from 'node:crypto';
import { type Candle, type CandleSeries, utcDay } from '../market/candle.ts';
import { policyHash, type ThresholdPolicy } from './policy.ts';
import type { ActiveBound, NotionalBracket, Threshold, ThresholdComponents } from './threshold.ts';

/** Binance-style brackets from the base rates: MM = notional × MMR − cum keeps maintenance continuous. */
export function notionalBrackets(
  policy: ThresholdPolicy,
  initialRate: number,
  maintenanceRate: number,
): NotionalBracket[] {
  const brackets: NotionalBracket[] = [];
  let floor = 0;
  let cum = 0;
  let previousMaintenance = 0;
  for (const bracket of policy.brackets) {
    const im = Math.min(1, initialRate * bracket.multiplier);
    const mm = Math.min(im, maintenanceRate * bracket.multiplier);
    cum += floor * (mm - previousMaintenance);
    brackets.push({
      notionalFloor: floor,
      notionalCap: bracket.notionalCap,
      initialMarginRate: im,
      maintenanceMarginRate: mm,
      cum,
    });
    floor = bracket.notionalCap ?? floor;
    previousMaintenance = mm;
  }
  return brackets;
}

export function buildThreshold(
  policy: ThresholdPolicy,
  series: CandleSeries,
  candles: readonly Candle[],
  initialMarginRate: number,
  activeBound: ActiveBound,
  components: ThresholdComponents,
  previous: Threshold | undefined,
  warnings: readonly string[],
): Threshold {
  const maintenanceMarginRate = initialMarginRate * policy.maintenanceFraction;
  const first = candles[0] as Candle;
  const last = candles[candles.length - 1] as Candle;
  const advWindow = candles.slice(-policy.liquidity.averageDailyVolumeDays);
  const averageDailyVolume = advWindow.reduce((sum, c) => sum + c.volume, 0) / advWindow.length;
  return {
    instrument: series.instrument,
    asOf: utcDay(last.time),
    referencePrice: last.close,
    initialMarginRate,
    maintenanceMarginRate,
    warningMarginRate: maintenanceMarginRate * policy.levels.warning,
    liquidationMarginRate: maintenanceMarginRate * policy.levels.liquidation,
    status: 'computed',
    activeBound,
    components,
    brackets: notionalBrackets(policy, initialMarginRate, maintenanceMarginRate),
    ...(policy.openInterestScaling ? { openInterestScaling: policy.openInterestScaling } : {}),
    liquidity: { averageDailyVolume, participationRate: policy.liquidity.participationRate },
    ...(previous ? { change: changeFrom(previous, initialMarginRate) } : {}),
    ...(warnings.length > 0 ? { warnings: warnings.slice(0, 20) } : {}),
    inputs: {
      policyVersion: policy.version,
      policyHash: policyHash(policy),
      pricesHash: candlesHash(candles),
      source: series.source,
      firstCandle: utcDay(first.time),
      lastCandle: utcDay(last.time),
      candleCount: candles.length,
    },
  };
}

function changeFrom(previous: Threshold, initialMarginRate: number): Threshold['change'] {
  return {
    previousInitialMarginRate: previous.initialMarginRate,
    previousAsOf: previous.asOf,
    absolute: initialMarginRate - previous.initialMarginRate,
    relative: initialMarginRate / previous.initialMarginRate - 1,
  };
}

/**
 * Bad or missing data never lowers a margin: keep the previous threshold, marked held with the reason. With
 * no previous threshold there is nothing safe to keep, so the instrument gets the policy's cap.
 */
export function holdThreshold(
  policy: ThresholdPolicy,
  series: CandleSeries,
  previous: Threshold | undefined,
  reason: string,
): Threshold {
  if (previous) {
    const { change: _change, warnings: _warnings, ...kept } = previous;
    return {
      ...kept,
      status: 'held',
      heldReason: reason,
      activeBound: 'held',
      change: changeFrom(previous, previous.initialMarginRate),
    };
  }
  const rate = policy.bounds.maxInitialMarginRate;
  const maintenance = rate * policy.maintenanceFraction;
  const last = series.candles[series.candles.length - 1];
  const first = series.candles[0];
  // Every field must be storable (DynamoDB refuses NaN, and one unstorable threshold stops the whole set),
  // so what the model never computed is left out rather than written as NaN.
  const referencePrice = lastSaneClose(series.candles);
  return {
    instrument: series.instrument,
    asOf: last && Number.isFinite(last.time) ? utcDay(last.time) : 'unknown',
    // The last trustworthy close, if any; without one a sweep has no price to value positions at.
    ...(referencePrice === undefined ? {} : { referencePrice }),
    initialMarginRate: rate,
    maintenanceMarginRate: maintenance,
    warningMarginRate: maintenance * policy.levels.warning,
    liquidationMarginRate: maintenance * policy.levels.liquidation,
    status: 'held',
    heldReason: `${reason} (no previous threshold: held at the policy cap)`,
    activeBound: 'held',
    components: {
      volatility: {},
      modelRate: rate,
      unboundedRate: rate,
    },
    brackets: notionalBrackets(policy, rate, maintenance),
    inputs: {
      policyVersion: policy.version,
      policyHash: policyHash(policy),
      pricesHash: candlesHash(series.candles),
      source: series.source,
      firstCandle: first && Number.isFinite(first.time) ? utcDay(first.time) : 'unknown',
      lastCandle: last && Number.isFinite(last.time) ? utcDay(last.time) : 'unknown',
      candleCount: series.candles.length,
    },
  };
}

function lastSaneClose(candles: readonly Candle[]): number | undefined {
  for (let i = candles.length - 1; i >= 0; i--) {
    const close = (candles[i] as Candle).close;
    if (Number.isFinite(close) && close > 0) return close;
  }
  return undefined;
}

/** SHA-256 over every candle's fields as IEEE doubles, in order: the audit fingerprint of the prices. */
export function candlesHash(candles: readonly Candle[]): string {
  const buffer = new Float64Array(candles.length * 6);
  candles.forEach((c, i) => {
    buffer.set([c.time, c.open, c.high, c.low, c.close, c.volume], i * 6);
  });
  return createHash('sha256').update(new Uint8Array(buffer.buffer)).digest('hex');
}
