/**
 * The reaction check of a replay, computed independently: bar by bar, every account valued directly at the
 * bar's close under the set in force (`valueAccount`) and moved through the state machine, with no breach
 * index and no sweep. Used by the replay tests (test/app) and the replay of the real hourly file (test/data).
 */
import type { Account, MarginState } from '../../lib/domain/account/account.ts';
import { nextMarginState, ratioForState } from '../../lib/domain/account/state-machine.ts';
import { DAY_MS } from '../../lib/domain/market/candle.ts';
import { createMarkSnapshot } from '../../lib/domain/market/mark.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import { marketSnapshotAt } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';

export interface ExpectedTransition {
  readonly accountId: string;
  readonly newState: MarginState;
  /** ISO time of the bar close (or midnight) it must fire at. */
  readonly at: string;
}

/**
 * The transitions a replay of `bars` (one instrument) must announce, in time order. A bar on which a shock
 * recalibration published a set is valued once, under that set: the shock runs before the watch's sweep.
 * A bar closing at a midnight is watched under the set in force before it (or its shock set); the
 * scheduled set then values the same mark.
 * `opening` is the mark at `from` (the last close before it).
 */
export function expectedTransitions(
  accounts: readonly Account[],
  bars: readonly { readonly close: number; readonly closeTime: number }[],
  sets: readonly {
    readonly effectiveAt: string;
    readonly set: ThresholdSet | undefined;
    /** @default 'shock' off a midnight, 'scheduled' at one */
    readonly trigger?: 'scheduled' | 'shock';
  }[],
  window: { readonly from: number; readonly to: number; readonly opening: number },
): ExpectedTransition[] {
  const levels = DEFAULT_THRESHOLD_POLICY.levels;
  const closeAt = new Map(
    bars
      .filter((b) => b.closeTime > window.from && b.closeTime <= window.to)
      .map((b) => [b.closeTime, b.close]),
  );
  const inForce = sets.map((s) => {
    const at = Date.parse(s.effectiveAt);
    return { at, set: s.set, shock: (s.trigger ?? (at % DAY_MS === 0 ? 'scheduled' : 'shock')) === 'shock' };
  });
  const states = new Map<string, MarginState>(accounts.map((a) => [a.accountId, 'OK']));
  const expected: ExpectedTransition[] = [];
  let mark = window.opening;
  const visit = (t: number, applies: (at: number, shock: boolean) => boolean) => {
    const set = inForce.findLast((s) => applies(s.at, s.shock))?.set;
    if (!set) return;
    const instrument = set.thresholds[0]?.instrument ?? '';
    const marks = createMarkSnapshot({
      takenAt: t,
      marks: [{ instrument, price: mark, at: t, source: 'live', venues: ['a', 'b', 'c'] }],
    });
    const snapshot = marketSnapshotAt(set, marks);
    for (const account of accounts) {
      const previous = states.get(account.accountId) as MarginState;
      const next = nextMarginState(previous, ratioForState(valueAccount(account, snapshot, t)), levels);
      if (next === previous) continue;
      states.set(account.accountId, next);
      expected.push({ accountId: account.accountId, newState: next, at: new Date(t).toISOString() });
    }
  };
  const midnights: number[] = [];
  for (let m = window.from; m <= window.to; m += DAY_MS) midnights.push(m);
  const times = [...new Set([...closeAt.keys(), ...midnights])].sort((a, b) => a - b);
  for (const t of times) {
    const close = closeAt.get(t);
    if (close !== undefined) mark = close;
    // A shock set published on this bar is in force for the bar's one sweep. A bar closing at a midnight is
    // swept once, by the scheduled run at that midnight (below).
    if (close !== undefined && t % DAY_MS !== 0) visit(t, (at, shock) => at < t || (at === t && shock));
    if (t % DAY_MS === 0) visit(t, (at) => at <= t);
  }
  return expected;
}

/** Time, then account: the order both lists are compared in (a sweep's page order is not the point). */
export function byTimeThenAccount(
  a: { readonly at: string; readonly accountId: string },
  b: { readonly at: string; readonly accountId: string },
): number {
  return a.at.localeCompare(b.at) || a.accountId.localeCompare(b.accountId);
}
