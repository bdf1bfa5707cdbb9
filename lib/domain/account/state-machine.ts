/**
 * The margin state machine: from the margin ratio (equity / maintenance requirement) to OK, WARNING,
 * MARGIN_CALL or LIQUIDATION, with hysteresis so an account hovering at a level does not flap, and the
 * evaluation of one account against a snapshot that yields the transition (and alert) to apply.
 *
 * - Worsening is immediate and may skip states (OK → LIQUIDATION on one print).
 * - Improving needs the ratio to clear the level by the hysteresis band: WARNING → OK only at
 *   ratio ≥ warning + hysteresis. It may jump several states at once if the ratio clears each band.
 * - No maintenance requirement (ratio null) counts as an infinite ratio when equity is zero or more.
 * - Negative equity is LIQUIDATION whatever the requirement: with one the ratio is negative, below every
 *   level; with none (positions netted to zero, only expired options left) the ratio is null and the
 *   machine reads −∞ (`ratioForState`). An insolvent account must never read as recovered.
 */
import { marginAlert } from '../alert/alert.ts';
import { AccountRecordError, PolicyError } from '../errors.ts';
import { priceText } from '../market/mark.ts';
import { compareUnits, type Units } from '../valuation/money.ts';
import type { MarketSnapshot } from '../valuation/snapshot.ts';
import type { AccountValuation } from '../valuation/valuation.ts';
import { valueAccount } from '../valuation/valuation.ts';
import type { Account, AlertMark, MarginState, MarginStatus, MarginTransition } from './account.ts';

/** Margin ratio levels (the threshold policy's `levels`): warning > marginCall > liquidation > 0. */
export interface MarginLevels {
  readonly warning: number;
  readonly marginCall: number;
  readonly liquidation: number;
  /** Ratio an account must recover beyond a level before its state improves (default 0). */
  readonly hysteresis?: number;
}

/** 0 OK … 3 LIQUIDATION: higher is worse. */
const RANK: Readonly<Record<MarginState, number>> = { OK: 0, WARNING: 1, MARGIN_CALL: 2, LIQUIDATION: 3 };
const BY_RANK: readonly MarginState[] = ['OK', 'WARNING', 'MARGIN_CALL', 'LIQUIDATION'];

/**
 * Levels are resolved to the 8 decimals a published ratio has, so `0.8 + 0.05` is 0.85 and a ratio of
 * exactly "0.85000000" clears it (in floats 0.8 + 0.05 is 0.8500000000000001).
 */
function atRatioResolution(level: number): number {
  return Math.round(level * 1e8) / 1e8;
}

function checkLevels(levels: MarginLevels, hysteresis: number): void {
  const { warning, marginCall, liquidation } = levels;
  if (!(warning > marginCall && marginCall > liquidation && liquidation > 0) || !Number.isFinite(warning)) {
    throw new PolicyError(
      `margin levels need warning > marginCall > liquidation > 0, got ${warning}, ${marginCall}, ${liquidation}`,
      'levels',
    );
  }
  if (!(hysteresis >= 0) || !Number.isFinite(hysteresis)) {
    throw new PolicyError(`hysteresis must be a non-negative number, got ${hysteresis}`, 'levels.hysteresis');
  }
}

/**
 * The ratio the state machine reads for a valuation: its margin ratio, or, when nothing is required (the
 * published ratio is null), null (∞: OK) for equity ≥ 0 and −∞ (LIQUIDATION) for negative equity.
 *
 * @example
 * ratioForState({ ratio: null, equityUnits: -590_000_000_000 }); // -Infinity: insolvent, nothing required
 */
export function ratioForState(valuation: {
  readonly ratio: number | null;
  readonly equityUnits: Units;
}): number | null {
  if (valuation.ratio !== null) return valuation.ratio;
  return compareUnits(valuation.equityUnits, 0) < 0 ? Number.NEGATIVE_INFINITY : null;
}

/** The state a ratio falls in, without hysteresis: OK ≥ warning > WARNING ≥ marginCall > … */
export function marginStateFor(ratio: number | null, levels: MarginLevels, band = 0): MarginState {
  if (ratio === null) return 'OK';
  if (Number.isNaN(ratio)) throw new RangeError('margin ratio is NaN');
  if (ratio >= atRatioResolution(levels.warning + band)) return 'OK';
  if (ratio >= atRatioResolution(levels.marginCall + band)) return 'WARNING';
  if (ratio >= atRatioResolution(levels.liquidation + band)) return 'MARGIN_CALL';
  return 'LIQUIDATION';
}

/**
 * The next state from the previous one and the current ratio (`ratioForState`: null when nothing is
 * required and equity ≥ 0, i.e. ∞; −∞ when nothing is required and equity is negative).
 *
 * @example
 * const levels = { warning: 1.2, marginCall: 1, liquidation: 0.8 };
 * nextMarginState('WARNING', 1.21, levels, 0.05); // 'WARNING' (needs 1.25 to recover)
 * nextMarginState('OK', 0.5, levels, 0.05); // 'LIQUIDATION'
 * nextMarginState('LIQUIDATION', 1.3, levels, 0.05); // 'OK'
 */
export function nextMarginState(
  previous: MarginState,
  ratio: number | null,
  levels: MarginLevels,
  hysteresis: number = levels.hysteresis ?? 0,
): MarginState {
  checkLevels(levels, hysteresis);
  const raw = marginStateFor(ratio, levels);
  if (RANK[raw] >= RANK[previous]) return raw; // same or worse: immediate
  // Better: only as far as the ratio clears each level by the band, and never worse than before.
  const cleared = marginStateFor(ratio, levels, hysteresis);
  return BY_RANK[Math.min(RANK[cleared], RANK[previous])] as MarginState;
}

export interface EvaluationContext {
  readonly thresholdSetId: string;
  readonly runId: string;
  /** Valuation time: epoch ms, an ISO 8601 string or a Date. Also the alert's `occurredAt`. */
  readonly asOf: number | string | Date;
  /**
   * The marks the account was valued at, for its alert (`alertMarks`). `evaluateAccount` fills them in from
   * the account and the snapshot; a caller of `evaluateValuation` passes the evaluation's own.
   * @default {} (the caller knows of no marks)
   */
  readonly marks?: Readonly<Record<string, AlertMark>>;
}

/**
 * The marks an account's alert carries: every instrument of its positions and every collateral asset that
 * is a marked instrument (its mark prices the collateral), at the snapshot's price and the time the mark was
 * observed. Stablecoins and USD are priced at 1 by policy, not marked, and are left out. A snapshot built
 * from plain prices (no mark time) is taken as observed at `asOf`.
 *
 * @example
 * alertMarks(account, snapshot, now); // { BTC: { price: '101250.5', at: '2026-11-24T00:05:00.000Z' } }
 */
export function alertMarks(
  account: Account,
  snapshot: MarketSnapshot,
  asOf: number,
): Readonly<Record<string, AlertMark>> {
  const symbols = new Set<string>();
  for (const position of account.positions) symbols.add(position.instrument);
  for (const collateral of account.collateral) symbols.add(collateral.asset);
  const marks: Record<string, AlertMark> = {};
  for (const symbol of [...symbols].sort()) {
    const market = snapshot.instruments.get(symbol);
    if (market === undefined) continue;
    marks[symbol] = {
      price: priceText(market.markPrice),
      at: new Date(market.markedAt ?? asOf).toISOString(),
    };
  }
  return marks;
}

export interface AccountEvaluation {
  readonly valuation: AccountValuation;
  readonly previousState: MarginState;
  readonly state: MarginState;
  /** The marks the account was valued at (what its alert carries). */
  readonly marks: Readonly<Record<string, AlertMark>>;
  /** Present only when the state changed: the conditional write to apply and the alert to publish. */
  readonly transition?: MarginTransition;
}

function epochMs(asOf: number | string | Date): number {
  const ms = typeof asOf === 'number' ? asOf : typeof asOf === 'string' ? Date.parse(asOf) : asOf.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`asOf is not a valid time: ${String(asOf)}`);
  return ms;
}

/**
 * Value an account and move it through the state machine. An account without a stored status is taken as
 * OK at sequence 0, so a first-seen account that is already in WARNING yields OK → WARNING. A transition
 * carries `expectedSequence` = the stored sequence and an alert with sequence + 1 (alert id
 * `${accountId}:${sequence}`), built by `marginAlert`.
 *
 * Throws `ValuationError` (an `AccountRecordError`) for an account the snapshot cannot value, and an
 * `AccountRecordError` when the status belongs to another account or has a bad sequence.
 *
 * @example
 * const { transition } = evaluateAccount(account, snapshot, status, policy.levels, { thresholdSetId, runId, asOf: Date.now() });
 */
export function evaluateAccount(
  account: Account,
  snapshot: MarketSnapshot,
  previousStatus: MarginStatus | undefined,
  levels: MarginLevels,
  context: EvaluationContext,
): AccountEvaluation {
  // A bad status is named before valuing (the checks are repeated, cheaply, by `evaluateValuation`).
  storedSequence(account.accountId, previousStatus);
  const asOf = epochMs(context.asOf);
  const valuation = valueAccount(account, snapshot, asOf);
  const marks = alertMarks(account, snapshot, asOf);
  return evaluateValuation(account.accountId, valuation, previousStatus, levels, { ...context, marks });
}

/**
 * The state machine alone, on a valuation already made (`evaluation.valuation` of an earlier
 * `evaluateAccount` at the same `asOf`): the sweep values an account once, and when the status it valued
 * against was a guess (an account off the watchlist, taken as OK at sequence 0), it moves the same valuation
 * from the stored status instead of valuing again. Throws as `evaluateAccount` does for a bad status.
 *
 * @example
 * const first = evaluateAccount(account, snapshot, undefined, levels, context);
 * const { transition } = evaluateValuation(account.accountId, first.valuation, stored, levels, context);
 */
export function evaluateValuation(
  accountId: string,
  valuation: AccountValuation,
  previousStatus: MarginStatus | undefined,
  levels: MarginLevels,
  context: EvaluationContext,
): AccountEvaluation {
  const previousSequence = storedSequence(accountId, previousStatus);
  const asOf = epochMs(context.asOf);
  const previousState = previousStatus?.state ?? 'OK';
  const state = nextMarginState(previousState, ratioForState(valuation), levels);
  const marks = context.marks ?? {};
  if (state === previousState) return { valuation, previousState, state, marks };
  const sequence = previousSequence + 1;
  const alert = marginAlert({
    accountId,
    previousState,
    newState: state,
    sequence,
    equity: valuation.equity,
    initialRequirement: valuation.initialRequirement,
    maintenanceRequirement: valuation.maintenanceRequirement,
    marginRatio: valuation.marginRatio,
    shortfallToInitial: valuation.shortfallToInitial,
    thresholdSetId: context.thresholdSetId,
    runId: context.runId,
    occurredAt: new Date(asOf).toISOString(),
    marks,
  });
  return {
    valuation,
    previousState,
    state,
    marks,
    transition: { accountId, previousState, newState: state, expectedSequence: previousSequence, alert },
  };
}

/** The stored sequence, after checking the status is the account's own and its sequence sound. */
function storedSequence(accountId: string, previousStatus: MarginStatus | undefined): number {
  if (previousStatus && previousStatus.accountId !== accountId) {
    throw new AccountRecordError(
      `margin status of ${previousStatus.accountId} given for account ${accountId}`,
      accountId,
      'status belongs to another account',
    );
  }
  const previousSequence = previousStatus?.sequence ?? 0;
  if (!Number.isSafeInteger(previousSequence) || previousSequence < 0) {
    throw new AccountRecordError(
      `account ${accountId}: stored sequence ${previousSequence} is not a non-negative integer`,
      accountId,
      'bad sequence',
    );
  }
  return previousSequence;
}
