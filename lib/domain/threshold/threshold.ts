import type { DiscoveredCatalogue } from '../market/instrument-catalogue.ts';
import type { PairCorrelation } from './correlation.ts';

/**
 * What a recalibration produces for one instrument. Rates are fractions of notional in (0, 1].
 * Everything needed to audit (and recompute) the numbers travels with the threshold.
 */
export interface Threshold {
  readonly instrument: string;
  /** UTC day of the last candle the model used (YYYY-MM-DD). */
  readonly asOf: string;
  /**
   * Close of the last candle used: the mark a sweep falls back to when no live price is given. Absent when a
   * new instrument is held with no trustworthy close: a sweep then has no price to value its positions at.
   */
  readonly referencePrice?: number;
  readonly initialMarginRate: number;
  readonly maintenanceMarginRate: number;
  /** Margin ratio levels live in the policy; these rates are the requirement at which each state starts. */
  readonly warningMarginRate: number;
  readonly liquidationMarginRate: number;
  /** `computed` from fresh data, or `held` at the previous values because the data was unusable. */
  readonly status: 'computed' | 'held';
  readonly heldReason?: string;
  /** Which rule set the final initial margin rate. */
  readonly activeBound: ActiveBound;
  readonly components: ThresholdComponents;
  readonly brackets: readonly NotionalBracket[];
  readonly openInterestScaling?: OpenInterestScaling;
  readonly liquidity?: LiquidityAddOn;
  readonly change?: ThresholdChange;
  /** Data problems that did not make the series unusable (e.g. zero volume on a day). */
  readonly warnings?: readonly string[];
  readonly inputs: ThresholdInputs;
  /**
   * Set by a shock recalibration (`lib/app/shock-recalibration.ts`): the live mark and time that triggered
   * it, and the instrument's shock-run count that UTC day (the daily cap survives Lambda containers because
   * it travels with the threshold, which carried-over sets keep unchanged). Absent for a scheduled run.
   */
  readonly shock?: ShockTrigger;
}

/** What triggered a shock recalibration, and how many the instrument has had that UTC day. */
export interface ShockTrigger {
  readonly trigger: 'shock';
  /** The consensus mark that triggered the run, and when it was observed (ISO). */
  readonly mark: number;
  readonly markAt: string;
  /** The reference price the move is measured from (the previous threshold's). */
  readonly referencePrice: number;
  /** Relative move mark / reference − 1 (−0.3 is a 30% fall). */
  readonly move: number;
  /** The log move that triggers (|ln(mark / reference)| at least this). */
  readonly triggerLogMove: number;
  /** UTC day (YYYY-MM-DD) of the mark, and this run's number among the instrument's shock runs that day. */
  readonly day: string;
  readonly runOfDay: number;
}

export type ActiveBound =
  | 'model'
  | 'stress-floor'
  | 'apc-floor'
  | 'apc-stressed-floor'
  | 'apc-buffer'
  | 'floor'
  | 'cap'
  | 'step-up-limit'
  | 'step-down-limit'
  | 'held';

export interface ThresholdComponents {
  /** Daily σ (fractions) from each estimator the policy uses, and the one the model took. */
  readonly volatility: Readonly<Record<string, number>>;
  /** Absent when the model never ran (a new instrument held at the policy cap): there is no σ to report. */
  readonly effectiveVolatility?: number;
  /**
   * σ-multiple of the MPOR return the margin covers (FHS quantile or tail mean, or a Student-t quantile).
   * Absent when the model never ran.
   */
  readonly riskMultiplier?: number;
  /** Risk-measure rate over the MPOR before floors, buffers and step limits. */
  readonly modelRate: number;
  readonly stressRate?: number;
  readonly apcFloorRate?: number;
  /** The stressed-period floor (`antiProcyclicality.stressedPeriodFloor`), when the policy has one. */
  readonly apcStressedFloorRate?: number;
  readonly apcBufferRate?: number;
  readonly unboundedRate: number;
  /**
   * Worst loss over the MPOR per stress scenario (fractions), long and short. `source` is absent when the
   * loss was measured on the series; a scenario the series does not cover says so, with its recorded move
   * or with no loss at all.
   */
  readonly stressScenarios?: Readonly<
    Record<
      string,
      {
        readonly long: number;
        readonly short: number;
        readonly source?: 'recorded, not in series' | 'not in series, no recorded move';
      }
    >
  >;
  readonly garch?: {
    readonly omega: number;
    readonly alpha: number;
    readonly beta: number;
    readonly negLogLik: number;
  };
}

/** Binance-style bracket: MM = notional × maintenanceMarginRate − cum. */
export interface NotionalBracket {
  readonly notionalFloor: number;
  /** Upper bound of the bracket; null for the last, unbounded one. */
  readonly notionalCap: number | null;
  readonly initialMarginRate: number;
  readonly maintenanceMarginRate: number;
  readonly cum: number;
}

/** dYdX-style initial margin scaling with open interest (notional, quote currency). */
export interface OpenInterestScaling {
  readonly lowerCap: number;
  readonly upperCap: number;
}

export interface LiquidityAddOn {
  /** Average daily volume (quote currency) over the policy window. */
  readonly averageDailyVolume: number;
  /** Positions larger than this share of ADV are charged the longer liquidation horizon. */
  readonly participationRate: number;
}

export interface ThresholdChange {
  readonly previousInitialMarginRate: number;
  readonly previousAsOf: string;
  readonly absolute: number;
  readonly relative: number;
}

export interface ThresholdInputs {
  readonly policyVersion: string;
  readonly policyHash: string;
  /** SHA-256 of the closes/highs/lows/volumes the model read, in order. */
  readonly pricesHash: string;
  readonly source: string;
  readonly firstCandle: string;
  readonly lastCandle: string;
  readonly candleCount: number;
}

/** Every instrument's threshold from one run. Immutable once written. */
export interface ThresholdSet {
  readonly setId: string;
  readonly runId: string;
  readonly createdAt: string;
  readonly previousSetId?: string;
  readonly thresholds: readonly Threshold[];
  /**
   * Each pair's return correlations estimated by the recalibration that wrote the set (lookback and
   * stressed; `rho` the lower, what valuation offsets with), kept for audit. Absent in sets written before
   * correlations were estimated: valuation then offsets only the pairs its policy configures by hand.
   */
  readonly correlations?: readonly PairCorrelation[];
  /**
   * The instrument catalogue discovered from the venues when the set was written (discovery on). Kept with
   * the set so the catalogue and the thresholds flip together: the next run diffs against what is in force.
   */
  readonly catalogue?: DiscoveredCatalogue;
}
