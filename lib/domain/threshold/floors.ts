/**
 * What lifts or limits the model's rate before it becomes a margin: the stress floor (historical and
 * hypothetical scenarios over the MPOR), the anti-procyclicality buffer, and the committee's floor, cap and
 * step limits. The pipeline that calls these is `model.ts`.
 */
import { type Candle, DAY_MS } from '../market/candle.ts';
import type { StressScenario, ThresholdPolicy } from './policy.ts';
import type { ActiveBound, Threshold, ThresholdComponents } from './threshold.ts';

/**
 * EMIR Art. 28(a): hold a buffer in calm markets, release it as the model rate rises. The rate keeps the
 * previous level while the model stays within the buffer, and follows the model once it climbs beyond it.
 */
export function bufferedRate(
  model: number,
  buffer: number,
  previous: Pick<Threshold, 'initialMarginRate'> | undefined,
): number {
  const full = model * (1 + buffer);
  if (!previous) return full;
  return Math.max(model, Math.min(full, previous.initialMarginRate));
}

interface StressResult {
  readonly worst: number;
  readonly scenarios: Record<string, StressScenarioLoss>;
  /** Scenarios that have happened, are not in the series and carry no recorded move: named, not silent. */
  readonly warnings: readonly string[];
}

type StressScenarioLoss = NonNullable<ThresholdComponents['stressScenarios']>[string];

/**
 * Each scenario's loss over the MPOR, long and short. A historical scenario is measured on the candles once
 * they cover its whole window. One that has happened by `asOf` but that the series does not cover (it
 * starts later, or its dates are wrong) takes its recorded move instead — the instrument's own, else the
 * generic one — marked `recorded, not in series`, so the stress floor never silently disappears. One that
 * has not happened by `asOf` does not count (in a backtest: no look-ahead).
 */
export function stressRates(
  policy: ThresholdPolicy,
  instrument: string,
  candles: readonly Candle[],
  asOf: number,
  // An intraday MPOR counts in bars of the series (4 one-hour bars) and in days for a recorded move (4/24).
  horizon: { readonly bars: number; readonly days: number } = {
    bars: policy.marginPeriodOfRiskDays,
    days: policy.marginPeriodOfRiskDays,
  },
): StressResult {
  const h = horizon.bars;
  const scenarios: Record<string, StressScenarioLoss> = {};
  const warnings: string[] = [];
  let worst = 0;
  const record = (scenario: StressScenario, loss: StressScenarioLoss) => {
    scenarios[scenario.name] = loss;
    worst = Math.max(worst, loss.long, loss.short);
  };
  for (const scenario of policy.stress.scenarios) {
    if (scenario.kind === 'hypothetical') {
      record(scenario, { long: Math.max(0, -scenario.move), short: Math.max(0, scenario.move) });
      continue;
    }
    // Compare times, not formatted days: a backtest calls this once per day over thousands of candles.
    const fromTime = Date.parse(`${scenario.from}T00:00:00Z`);
    const toTime = Date.parse(`${scenario.to}T00:00:00Z`);
    const firstTime = (candles[0] as Candle).time;
    const lastTime = (candles[candles.length - 1] as Candle).time;
    if (fromTime <= firstTime || toTime > lastTime) {
      if (!(toTime + DAY_MS <= asOf)) continue;
      // Own keys only: an instrument named `constructor` must not read Object.prototype.
      const own = scenario.recorded && Object.hasOwn(scenario.recorded.instruments, instrument);
      const recorded = (own ? scenario.recorded?.instruments[instrument] : undefined) ?? scenario.recorded;
      if (recorded) {
        record(scenario, { ...recordedOverMpor(recorded, horizon.days), source: 'recorded, not in series' });
      } else {
        scenarios[scenario.name] = { long: 0, short: 0, source: 'not in series, no recorded move' };
        warnings.push(
          `${instrument}: stress scenario ${scenario.name} (${scenario.from} … ${scenario.to}) is not in the series and has no recorded move: it does not count`,
        );
      }
      continue;
    }
    let long = 0;
    let short = 0;
    let days = 0;
    // Every MPOR window (closes i−1 … i+h−1) that contains a scenario bar, including those ending on it.
    for (let i = Math.max(1, firstIndexAtOrAfter(candles, fromTime) - (h - 1)); i < candles.length; i++) {
      const day = candles[i] as Candle;
      // Bars of the scenario's last day count too (for daily bars: the bar at its 00:00).
      if (day.time >= toTime + DAY_MS) break;
      const end = candles[i + h - 1];
      const start = candles[i - 1];
      if (!end || !start) continue;
      days++;
      const move = end.close / start.close - 1;
      long = Math.max(long, -move);
      short = Math.max(short, move);
    }
    if (days > 0) record(scenario, { long, short });
  }
  return { worst, scenarios, warnings };
}

/**
 * A recorded one-day move over an MPOR of `h` days: the log move scaled by √h (a square-root-of-time
 * approximation; exact for the default 1-day MPOR).
 */
function recordedOverMpor(
  recorded: { readonly long: number; readonly short: number },
  h: number,
): { long: number; short: number } {
  const scale = Math.sqrt(h);
  return {
    long: -Math.expm1(Math.log1p(-recorded.long) * scale),
    short: Math.expm1(Math.log1p(recorded.short) * scale),
  };
}

function firstIndexAtOrAfter(candles: readonly Candle[], time: number): number {
  let lo = 0;
  let hi = candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function applyBounds(
  policy: ThresholdPolicy,
  unbounded: number,
  activeBound: ActiveBound,
  // Only the previous rate matters: the calibration's fast walk passes just that.
  previous: Pick<Threshold, 'initialMarginRate'> | undefined,
): { rate: number; activeBound: ActiveBound } {
  const { minInitialMarginRate, maxInitialMarginRate } = policy.bounds;
  let rate = unbounded;
  let bound = activeBound;
  if (previous) {
    const { maxIncrease, maxDecrease } = policy.stepLimits;
    const prior = previous.initialMarginRate;
    if (maxIncrease !== null && rate > prior * (1 + maxIncrease)) {
      rate = prior * (1 + maxIncrease);
      bound = 'step-up-limit';
    } else if (maxDecrease !== null && rate < prior * (1 - maxDecrease)) {
      rate = prior * (1 - maxDecrease);
      bound = 'step-down-limit';
    }
  }
  // The floor and cap are the committee's hard limits: they beat the step limits.
  if (rate < minInitialMarginRate) return { rate: minInitialMarginRate, activeBound: 'floor' };
  if (rate > maxInitialMarginRate) return { rate: maxInitialMarginRate, activeBound: 'cap' };
  return { rate, activeBound: bound };
}

/** The rates a threshold's initial margin rate is chosen among (undefined: that rule is off). */
export interface RateCandidates {
  readonly modelRate: number;
  /** The worst stress loss at the horizon (0: none). */
  readonly stressWorst: number;
  readonly apcFloorRate?: number | undefined;
  readonly apcStressedFloorRate?: number | undefined;
}

/** The rate chosen, the rule that set it, and the candidates that are reported with it. */
export interface ChosenRate {
  readonly rate: number;
  readonly activeBound: ActiveBound;
  readonly unboundedRate: number;
  readonly stressRate?: number;
  readonly apcBufferRate?: number;
}

/**
 * The initial margin rate from its candidates: the model (blended with the stress loss when the policy gives
 * it a stressed weight), the APC buffer, the stress floor and the APC floors; the largest wins and is named,
 * then the bounds and step limits apply. One rule for the daily model, the intraday model and the
 * calibration's fast walk, so a new floor cannot reach one and miss the others.
 */
export function chooseRate(
  policy: ThresholdPolicy,
  candidates: RateCandidates,
  previous: Pick<Threshold, 'initialMarginRate'> | undefined,
): ChosenRate {
  const apc = policy.antiProcyclicality;
  const { modelRate, stressWorst } = candidates;
  const stressRate = stressWorst > 0 ? policy.stress.coveredShare * stressWorst : undefined;
  const blendedModel =
    apc.stressedWeight > 0 && stressWorst > 0
      ? (1 - apc.stressedWeight) * modelRate + apc.stressedWeight * stressWorst
      : modelRate;
  const apcBufferRate = apc.buffer > 0 ? bufferedRate(blendedModel, apc.buffer, previous) : undefined;
  const named: [ActiveBound, number | undefined][] = [
    ['model', blendedModel],
    ['apc-buffer', apcBufferRate],
    ['stress-floor', stressRate],
    ['apc-floor', candidates.apcFloorRate],
    ['apc-stressed-floor', candidates.apcStressedFloorRate],
  ];
  let activeBound: ActiveBound = 'model';
  let unboundedRate = blendedModel;
  for (const [name, value] of named) {
    if (value !== undefined && value > unboundedRate) {
      unboundedRate = value;
      activeBound = name;
    }
  }
  const bounded = applyBounds(policy, unboundedRate, activeBound, previous);
  return {
    rate: bounded.rate,
    activeBound: bounded.activeBound,
    unboundedRate,
    ...(stressRate !== undefined ? { stressRate } : {}),
    ...(apcBufferRate !== undefined ? { apcBufferRate } : {}),
  };
}

/**
 * The stressed period's volatility for `antiProcyclicality.stressedPeriodFloor`: the largest root mean square
 * of `windowDays` consecutive returns among the last `lookbackDays` of the first `end` returns (all of them
 * when fewer). A window that has left the lookback no longer counts: the floor ages out.
 *
 * @example
 * stressedPeriodVolatility([0.01, -0.03, 0.04, 0.01], 2, 4); // √((0.03² + 0.04²) / 2) ≈ 0.0354
 */
export function stressedPeriodVolatility(
  returns: readonly number[],
  windowDays: number,
  lookbackDays: number,
  end = returns.length,
): number {
  const start = Math.max(0, end - lookbackDays);
  const window = Math.min(windowDays, end - start);
  if (window <= 0) return Number.NaN;
  let sum = 0;
  for (let i = start; i < start + window; i++) sum += (returns[i] as number) ** 2;
  let worst = sum;
  for (let next = start + window; next < end; next++) {
    sum += (returns[next] as number) ** 2 - (returns[next - window] as number) ** 2;
    if (sum > worst) worst = sum;
  }
  return Math.sqrt(worst / window);
}
