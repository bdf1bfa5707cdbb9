/**
 * The scheduled recalibration, as a use case: ports in, a summary out. No AWS, no clock but the port's.
 */
import {
  InstrumentNotListedError,
  MarketDataError,
  MarketSourceError,
  ThresholdSetConflictError,
  UnknownInstrumentError,
} from '../domain/errors.ts';
import { type CandleSeries, DAY_MS } from '../domain/market/candle.ts';
import {
  correlationSettingsFor,
  estimateCorrelations,
  type PairCorrelation,
} from '../domain/threshold/correlation.ts';
import { intradayHistoryDays } from '../domain/threshold/intraday.ts';
import { holdThreshold, recalibrate as recalibrateThreshold } from '../domain/threshold/model.ts';
import { subDayMporHours } from '../domain/threshold/mpor.ts';
import type { InstrumentPolicy, ThresholdPolicy } from '../domain/threshold/policy.ts';
import type { Threshold, ThresholdSet } from '../domain/threshold/threshold.ts';
import type { Clock, MarketDataSource, OpsEvent, OpsPublisher, RunLedger, ThresholdStore } from '../ports.ts';
import {
  type Discovery,
  type DiscoveryPorts,
  type DiscoverySettings,
  discover,
} from './instrument-discovery.ts';

export interface RecalibrationPorts {
  readonly market: MarketDataSource;
  /**
   * Hourly bars, for the instruments whose policy has an MPOR under a day (the intraday model). Absent:
   * they read `market` too, and a sub-day MPOR on daily bars is held.
   */
  readonly intradayMarket?: MarketDataSource;
  readonly thresholds: ThresholdStore;
  readonly ledger: RunLedger;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
  /** Needed only when a request turns discovery on. */
  readonly discovery?: DiscoveryPorts;
}

export type { InstrumentPolicy };

export interface RecalibrationRequest {
  /** The scheduled time (ISO): Scheduler delivers at least once, so it is the run's idempotency key. */
  readonly runId: string;
  /** Who runs it (a Lambda request id, `local`): the lease holder. */
  readonly holder: string;
  readonly instruments: readonly InstrumentPolicy[];
  /** Days of daily candles to pull; enough for the longest lookback in the policies. @default 3650 */
  readonly historyDays?: number;
  /** How long the lease lasts if this run dies without releasing it. @default 15 minutes */
  readonly leaseTtlMs?: number;
  /**
   * Discover the instruments from the venues' lists instead of recalibrating `instruments` only (which then
   * give the policies of the instruments they name). Off when absent.
   */
  readonly discovery?: DiscoverySettings;
}

export type RecalibrationResult =
  | { readonly outcome: 'skipped'; readonly runId: string; readonly reason: string }
  | {
      readonly outcome: 'published';
      readonly runId: string;
      readonly set: ThresholdSet;
      readonly held: readonly { readonly instrument: string; readonly reason: string }[];
    };

/**
 * Recalibrate every configured instrument.
 *  1. Take the run lease (one recalibration at a time; a repeated scheduled event finds the run done).
 *  2. Read the CURRENT set: each instrument's previous threshold, for step limits and holding.
 *  3. Pull candles per instrument; compute its threshold, or hold the previous one if the data is unusable.
 *  4. Write the set and flip CURRENT in one conditional write.
 *  5. Publish the summary to the ops topic; record the outcome in the ledger.
 *
 * @example
 * await recalibrate({ market, thresholds, ledger, ops, clock }, { runId: '2026-11-24T00:00:00Z', holder: 'local', instruments });
 */
export async function recalibrate(
  ports: RecalibrationPorts,
  request: RecalibrationRequest,
): Promise<RecalibrationResult> {
  const { market, thresholds, ledger, ops, clock } = ports;
  const lease = await ledger.acquire(request.runId, request.holder, request.leaseTtlMs ?? 15 * 60_000);
  if (!lease) {
    return {
      outcome: 'skipped',
      runId: request.runId,
      reason: 'another run holds the lease, or this run already finished',
    };
  }
  try {
    const current = await thresholds.currentSet();
    if (current?.runId === request.runId) {
      // A retry of a run that flipped CURRENT but failed afterwards (say, the ops summary): the set is live,
      // so finish the run rather than fail every retry against its own set.
      const held = heldOf(current.thresholds);
      await ops.publish(summary(request.runId, current, held));
      await ledger.complete(
        lease,
        'succeeded',
        { instruments: current.thresholds.length, held: held.length },
        'completed on retry',
      );
      return { outcome: 'published', runId: request.runId, set: current, held };
    }
    const previousByInstrument = new Map(current?.thresholds.map((t) => [t.instrument, t]) ?? []);
    const asOf = Math.floor(clock.now() / DAY_MS) * DAY_MS;
    const from = asOf - (request.historyDays ?? 3650) * DAY_MS;

    let discovery: Discovery | undefined;
    if (request.discovery) {
      if (!ports.discovery) throw new Error('discovery is on but the recalibration has no discovery ports');
      const day = new Date(asOf).toISOString().slice(0, 10);
      discovery = await discover(
        ports.discovery,
        current,
        request.instruments,
        request.discovery,
        request.runId,
        day,
      );
    }
    const instruments = discovery?.instruments ?? request.instruments;
    const source =
      discovery && ports.discovery?.marketFor ? ports.discovery.marketFor(discovery.diff.catalogue) : market;

    // A new listing has no previous threshold: the model holds it at the policy cap until its history is
    // long enough (`recalibrate` in model.ts), and later runs keep that cap until the model can compute.
    // Listed on fewer venues than the quorum: held without asking the market (its candles would be one
    // venue's), announced in the summary's `held` with the reason.
    const results = await Promise.all(
      instruments.map(({ instrument, policy }) => {
        const previous = previousByInstrument.get(instrument);
        const belowQuorum = discovery?.belowQuorum.get(instrument);
        if (belowQuorum !== undefined) {
          const none: CandleSeries = { instrument, intervalMs: DAY_MS, candles: [], source: source.name };
          return { threshold: holdThreshold(policy, none, previous, belowQuorum) };
        }
        // An hourly MPOR on hourly bars, over the history its policy reads (never more than `historyDays`).
        if (ports.intradayMarket && subDayMporHours(policy.marginPeriodOfRiskDays) !== undefined) {
          const days = Math.min(request.historyDays ?? 3650, intradayHistoryDays(policy));
          return thresholdFor(ports.intradayMarket, instrument, policy, previous, asOf - days * DAY_MS, asOf);
        }
        return thresholdFor(source, instrument, policy, previous, from, asOf);
      }),
    );
    const computed = results.map((r) => r.threshold);
    const set: ThresholdSet = {
      setId: request.runId,
      runId: request.runId,
      createdAt: new Date(clock.now()).toISOString(),
      ...(current ? { previousSetId: current.setId } : {}),
      thresholds: computed,
      correlations: setCorrelations(instruments, results),
      ...(discovery ? { catalogue: discovery.diff.catalogue } : {}),
    };
    await thresholds.publishSet(set, current?.setId);

    const held = heldOf(computed);
    // Announced once the set is in force: a delisted instrument is out of it, so its holders go unvalued.
    for (const event of discovery?.events ?? []) await ops.publish(event);
    await ops.publish(summary(request.runId, set, held));
    await ledger.complete(lease, 'succeeded', { instruments: computed.length, held: held.length });
    return { outcome: 'published', runId: request.runId, set, held };
  } catch (error) {
    const reason =
      error instanceof ThresholdSetConflictError
        ? `lost the CURRENT pointer race: ${error.message}`
        : describe(error);
    // Record the failure where operators look; the original error still propagates to the caller's retry.
    await Promise.allSettled([
      ops.publish({ type: 'recalibration.failed', runId: request.runId, reason }),
      ledger.complete(lease, 'failed', {}, reason),
    ]);
    throw error;
  }
}

function heldOf(thresholds: readonly Threshold[]): { instrument: string; reason: string }[] {
  return thresholds
    .filter((t) => t.status === 'held')
    .map((t) => ({ instrument: t.instrument, reason: t.heldReason ?? '' }));
}

function summary(
  runId: string,
  set: ThresholdSet,
  held: readonly { instrument: string; reason: string }[],
): OpsEvent {
  return {
    type: 'recalibration.completed',
    runId,
    setId: set.setId,
    instruments: set.thresholds.length,
    held,
    changes: set.thresholds.map((t) => ({
      instrument: t.instrument,
      ...(t.change ? { from: t.change.previousInitialMarginRate } : {}),
      to: t.initialMarginRate,
    })),
  };
}

/** A threshold, and the candles it was computed from when it was (a held threshold has none to trust). */
interface InstrumentResult {
  readonly threshold: Threshold;
  readonly series?: CandleSeries;
}

/**
 * Every pair's correlations on the candles the thresholds were computed from. A pair with a held instrument
 * is refused (no offset): its data was unusable for margins, so it is unusable for credits too.
 */
function setCorrelations(
  instruments: readonly InstrumentPolicy[],
  results: readonly InstrumentResult[],
): PairCorrelation[] {
  const policies = new Map(instruments.map((i) => [i.instrument, i.policy]));
  const usable = results.flatMap((r) => (r.series ? [r.series] : []));
  const estimated = estimateCorrelations(usable, (a, b) =>
    correlationSettingsFor(policies.get(a) as ThresholdPolicy, policies.get(b) as ThresholdPolicy),
  );
  const held = results.filter((r) => !r.series).map((r) => r.threshold.instrument);
  const refused: PairCorrelation[] = [];
  for (const instrument of held) {
    for (const other of results.map((r) => r.threshold.instrument)) {
      if (other === instrument || (held.includes(other) && other < instrument)) continue;
      const [a, b] = [instrument, other].sort() as [string, string];
      refused.push({ a, b, refused: `${a}/${b}: ${instrument} was held, its data unusable` });
    }
  }
  return [...estimated, ...refused].sort((p, q) => `${p.a}|${p.b}`.localeCompare(`${q.a}|${q.b}`));
}

async function thresholdFor(
  market: MarketDataSource,
  instrument: string,
  policy: ThresholdPolicy,
  previous: Threshold | undefined,
  from: number,
  asOf: number,
): Promise<InstrumentResult> {
  let series: CandleSeries;
  try {
    series = await market.candles(instrument, { from, to: asOf });
  } catch (error) {
    // An unreachable or malformed feed is bad data like any other: hold, never lower. Anything else (a
    // configuration error, a bug) fails the run instead of passing for a held threshold.
    if (isMarketFailure(error)) {
      const empty: CandleSeries = { instrument, intervalMs: DAY_MS, candles: [], source: market.name };
      return {
        threshold: holdThreshold(
          policy,
          empty,
          previous,
          `${instrument}: market data unavailable: ${describe(error)}`,
        ),
      };
    }
    throw error;
  }
  if (series.instrument !== instrument) {
    // A source that answers with another instrument's prices must not publish them under that name.
    const mislabelled: CandleSeries = { ...series, instrument, candles: [] };
    return {
      threshold: holdThreshold(
        policy,
        mislabelled,
        previous,
        `${instrument}: the market source answered with ${series.instrument} data`,
      ),
    };
  }
  const impliedVolatility = await latestImpliedVolatility(market, instrument, asOf);
  try {
    const threshold = recalibrateThreshold(policy, series, previous, {
      asOf,
      ...(impliedVolatility === undefined ? {} : { impliedVolatility }),
    });
    return threshold.status === 'computed' ? { threshold, series } : { threshold };
  } catch (error) {
    // Data the validator let through but a model could not use (say, a flat series): hold this instrument only.
    if (error instanceof MarketDataError || error instanceof RangeError) {
      return {
        threshold: holdThreshold(
          policy,
          series,
          previous,
          `${instrument}: the model could not use the data: ${describe(error)}`,
        ),
      };
    }
    throw error;
  }
}

/** The last implied-volatility print of the past week, where the source has one; its absence is no error. */
export async function latestImpliedVolatility(
  market: MarketDataSource,
  instrument: string,
  asOf: number,
): Promise<number | undefined> {
  if (!market.impliedVolatility) return undefined;
  try {
    const series = await market.impliedVolatility(instrument, { from: asOf - 7 * DAY_MS, to: asOf });
    return series.points[series.points.length - 1]?.[1];
  } catch (error) {
    if (isMarketFailure(error)) return undefined;
    throw error;
  }
}

/**
 * What a market source throws when it cannot answer for an instrument: the venue unreachable, its data
 * unusable, or the instrument not in its catalogue.
 */
export function isMarketFailure(error: unknown): boolean {
  return (
    error instanceof MarketSourceError ||
    error instanceof MarketDataError ||
    error instanceof UnknownInstrumentError ||
    error instanceof InstrumentNotListedError
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
