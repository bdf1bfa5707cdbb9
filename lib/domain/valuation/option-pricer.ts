/**
 * Options on an instrument (its underlying): the Black-76 mark (intrinsic value once expired) to equity, the
 * delta and a leg to the instrument's group, which the scenario grid then revalues; and the short option
 * minimum, netted per series or, with `shortOptionMinimumNetting: 'spreads'`, against the long options of the
 * same type and expiry that cap a short's loss.
 */
import type { OptionPosition } from '../account/account.ts';
import { black76PriceAndDelta, YEAR_MS } from './black76.ts';
import { ValuationError } from './errors.ts';
import { at, notFinite } from './failures.ts';
import type { OptionLeg } from './group.ts';
import type { PreparedInstrument } from './instrument.ts';
import { amountToNumber, unitsDown } from './money.ts';
import type { ValuationPolicy } from './policy.ts';
import type { PositionPricer, PricingScratch } from './pricers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** An option: its Black-76 mark (or intrinsic value once expired) to equity, its leg to its group. */
function valueOption(
  scratch: PricingScratch,
  accountId: string,
  position: OptionPosition,
  i: number,
  prep: PreparedInstrument,
  asOf: number,
): void {
  const equity = scratch.equity;
  const pair = scratch.pair;
  const rate = scratch.policy.riskFreeRate;
  const mark = prep.mark;
  const isCall = position.optionType === 'call';
  const strike = amountToNumber(position.strike);
  const quantity = amountToNumber(position.quantity);
  const expiryDate = scratch.instruments.expiry(position.expiry);
  const expiry = expiryDate.ms;
  const magnitude = Math.abs(quantity) * (mark + strike);
  if (!Number.isFinite(magnitude) || !Number.isFinite(expiry))
    throw notFinite(accountId, magnitude, at(i, position));
  if (expiry <= asOf) {
    // Expired: settles at intrinsic value against the current mark; no requirement.
    const intrinsic = isCall ? Math.max(mark - strike, 0) : Math.max(strike - mark, 0);
    equity.add(unitsDown(quantity * intrinsic, magnitude));
    return;
  }
  const volatility = position.markVolatility ?? prep.fallbackVolatility;
  if (!(volatility > 0) || !Number.isFinite(volatility)) {
    throw new ValuationError(
      accountId,
      `no usable volatility for options on ${position.instrument}`,
      at(i, position),
    );
  }
  const years = (expiry - asOf) / YEAR_MS;
  black76PriceAndDelta(isCall, mark, strike, years, volatility, rate, pair);
  const value = pair[0] as number;
  equity.add(unitsDown(quantity * value, magnitude));
  const g = scratch.groups.groupFor(prep);
  g.optionDelta += quantity * (pair[1] as number);
  g.gross += magnitude;
  const leg = g.addOption();
  leg.isCall = isCall;
  leg.strike = strike;
  leg.expiry = expiry;
  leg.expiryDate = expiryDate;
  leg.years = years;
  leg.days = (expiry - asOf) / DAY_MS;
  leg.quantity = quantity;
  leg.volatility = volatility;
  leg.value = value;
}

export const optionPricer: PositionPricer<OptionPosition> = { value: valueOption };

/** Above this many legs in a group, series are netted through a Map rather than by comparing every pair. */
const PAIRWISE_NETTING_LEGS = 32;

/**
 * max(Σ net short calls, Σ net short puts), netting each series (type, strike, expiry) first. A group holds
 * a handful of legs, so series are found by comparing legs, with no key strings built; each series is summed
 * in leg order from 0 and the series taken in order of first appearance, exactly as the Map does for large
 * groups.
 */
export function shortOptionCount(legs: readonly OptionLeg[], count: number): number {
  if (count === 1) {
    const leg = legs[0] as OptionLeg;
    return leg.quantity < 0 ? -leg.quantity : 0;
  }
  if (count > PAIRWISE_NETTING_LEGS) return shortOptionCountByKey(legs, count);
  let calls = 0;
  let puts = 0;
  outer: for (let o = 0; o < count; o++) {
    const leg = legs[o] as OptionLeg;
    for (let e = 0; e < o; e++) if (sameSeries(legs[e] as OptionLeg, leg)) continue outer; // netted already
    let quantity = 0 + leg.quantity;
    for (let later = o + 1; later < count; later++) {
      const other = legs[later] as OptionLeg;
      if (sameSeries(other, leg)) quantity += other.quantity;
    }
    if (quantity >= 0) continue;
    if (leg.isCall) calls -= quantity;
    else puts -= quantity;
  }
  return Math.max(calls, puts);
}

function shortOptionCountByKey(legs: readonly OptionLeg[], count: number): number {
  const net = new Map<string, number>();
  for (let o = 0; o < count; o++) {
    const leg = legs[o] as OptionLeg;
    const key = `${leg.isCall ? 'C' : 'P'}|${leg.strike}|${leg.expiry}`;
    net.set(key, (net.get(key) ?? 0) + leg.quantity);
  }
  let calls = 0;
  let puts = 0;
  for (const [key, quantity] of net) {
    if (quantity >= 0) continue;
    if (key.startsWith('C')) calls -= quantity;
    else puts -= quantity;
  }
  return Math.max(calls, puts);
}

function sameSeries(a: OptionLeg, b: OptionLeg): boolean {
  return a.isCall === b.isCall && a.strike === b.strike && a.expiry === b.expiry;
}

/**
 * The group's short option minimum (quote): the policy's rate × mark per short option, the larger of the
 * call side and the put side. Netted per series (`'series'`), or as spreads (`'spreads'`, see
 * `spreadMinimum`).
 *
 * @example
 * // Long the 100 put, short the 90 put, same expiry, mark 100: a net-long put spread, no minimum.
 * shortOptionMinimum({ ...policy, shortOptionMinimumNetting: 'spreads' }, 100, legs, 2); // 0
 */
export function shortOptionMinimum(
  policy: ValuationPolicy,
  mark: number,
  legs: readonly OptionLeg[],
  count: number,
): number {
  if (policy.shortOptionMinimumNetting === 'series') {
    return policy.shortOptionMinimum * mark * shortOptionCount(legs, count);
  }
  const perOption = policy.shortOptionMinimum * mark;
  return Math.max(spreadMinimum(legs, count, true, perOption), spreadMinimum(legs, count, false, perOption));
}

interface Strike {
  /** The strike, negated for calls, so a long covers a short when its key is at least the short's. */
  readonly key: number;
  amount: number;
}

/**
 * The minimum of one side (calls or puts) netted the way strategy-based venue margin nets verticals (Cboe
 * Rule 10.3, Deribit's portfolio margin giving a spread its capped loss): per expiry, each series netted
 * first; then each short is paired with a long of the same type and expiry, first with longs that cover it
 * fully (a put at a strike at least as high, a call at one at least as low: the pair can never lose, so no
 * minimum), highest short first, then with the nearest remaining longs below it (a credit spread: its loss
 * is capped at the strike width, so min(perOption, width)). Unpaired shorts pay `perOption` each. Never
 * more than the series netting charges; the group's charge stays max(scenario loss, minimum), so a spread
 * is never charged below what a scenario can lose.
 */
export function spreadMinimum(
  legs: readonly OptionLeg[],
  count: number,
  calls: boolean,
  perOption: number,
): number {
  const byExpiry = new Map<number, Map<number, number>>();
  for (let o = 0; o < count; o++) {
    const leg = legs[o] as OptionLeg;
    if (leg.isCall !== calls) continue;
    let series = byExpiry.get(leg.expiry);
    if (!series) {
      series = new Map();
      byExpiry.set(leg.expiry, series);
    }
    series.set(leg.strike, (series.get(leg.strike) ?? 0) + leg.quantity);
  }
  let charge = 0;
  for (const series of byExpiry.values()) {
    const shorts: Strike[] = [];
    const longs: Strike[] = [];
    for (const [strike, quantity] of series) {
      const key = calls ? -strike : strike;
      if (quantity < 0) shorts.push({ key, amount: -quantity });
      else if (quantity > 0) longs.push({ key, amount: quantity });
    }
    if (shorts.length === 0) continue;
    shorts.sort((a, b) => b.key - a.key);
    // Full cover: for each short (highest first) the lowest long at or above it.
    const ascending = [...longs].sort((a, b) => a.key - b.key);
    for (const short of shorts) {
      for (const long of ascending) {
        if (short.amount === 0) break;
        if (long.key < short.key || long.amount === 0) continue;
        const paired = Math.min(short.amount, long.amount);
        short.amount -= paired;
        long.amount -= paired;
      }
    }
    // Credit spreads: the nearest long below each remaining short; the pair loses at most the width.
    const descending = ascending.reverse();
    for (const short of shorts) {
      for (const long of descending) {
        if (short.amount === 0) break;
        if (long.key >= short.key || long.amount === 0) continue;
        const paired = Math.min(short.amount, long.amount);
        charge += paired * Math.min(perOption, short.key - long.key);
        short.amount -= paired;
        long.amount -= paired;
      }
      charge += short.amount * perOption;
    }
  }
  return charge;
}
