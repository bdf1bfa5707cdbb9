/**
 * Demo accounts for the local cycle: a few hundred, seeded, sized against the thresholds just computed so
 * that some sit comfortably above their levels and some hover near warning, margin call and liquidation.
 */
import type { Account, Position } from '../domain/account/account.ts';
import { seededRandom } from '../domain/math/random.ts';
import type { Threshold } from '../domain/threshold/threshold.ts';

export interface DemoAccountOptions {
  readonly count: number;
  readonly seed: number;
  /** Options expire 30 days after this (ms). */
  readonly asOf: number;
}

/** Target margin ratios (equity / maintenance): most healthy, the rest near each level. */
const BANDS: readonly { share: number; low: number; high: number }[] = [
  { share: 0.65, low: 1.6, high: 6 },
  { share: 0.15, low: 1.05, high: 1.35 },
  { share: 0.12, low: 0.82, high: 1.02 },
  { share: 0.08, low: 0.4, high: 0.78 },
];

const money = (x: number, places = 2) => x.toFixed(places);

/**
 * @example
 * const accounts = demoAccounts(thresholds, { count: 300, seed: 7, asOf: Date.now() });
 */
export function demoAccounts(
  thresholds: readonly Pick<Threshold, 'instrument' | 'referencePrice' | 'maintenanceMarginRate'>[],
  options: DemoAccountOptions,
): Account[] {
  // Only instruments with a price can be sized; a new listing held without one is left out.
  const usable = thresholds.flatMap((t) =>
    t.referencePrice !== undefined && t.referencePrice > 0
      ? [{ ...t, referencePrice: t.referencePrice }]
      : [],
  );
  if (usable.length === 0) return [];
  const next = seededRandom(options.seed);
  const accounts: Account[] = [];
  for (let i = 0; i < options.count; i++) {
    const band = pickBand(next());
    const target = band.low + (band.high - band.low) * next();
    const collateral = 5_000 + Math.round(next() * 195_000);
    const legs = 1 + Math.floor(next() * 3);
    // Split the maintenance requirement the target ratio implies across the legs.
    const maintenanceBudget = collateral / target;
    const positions: Position[] = [];
    const chosen = [...usable].sort(() => next() - 0.5).slice(0, legs);
    for (const threshold of chosen) {
      const mark = threshold.referencePrice;
      const notional = maintenanceBudget / legs / threshold.maintenanceMarginRate;
      const side = next() < 0.55 ? 1 : -1;
      const quantity = (side * notional) / mark;
      positions.push({
        kind: 'perpetual',
        instrument: threshold.instrument,
        quantity: quantity.toFixed(6),
        entryPrice: money(mark),
        settlement: 'linear',
      });
    }
    // One account in ten also sells a covered call 10% out of the money on its first leg.
    const first = chosen[0];
    const firstPosition = positions[0];
    if (first && firstPosition && firstPosition.kind !== 'option' && next() < 0.1) {
      const quantity = Math.abs(Number(firstPosition.quantity));
      positions.push({
        kind: 'option',
        instrument: first.instrument,
        optionType: Number(firstPosition.quantity) > 0 ? 'call' : 'put',
        strike: money(first.referencePrice * (Number(firstPosition.quantity) > 0 ? 1.1 : 0.9)),
        expiry: new Date(options.asOf + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        quantity: (-quantity / 2).toFixed(6),
        entryPrice: money(first.referencePrice * 0.02),
      });
    }
    accounts.push({
      accountId: `demo-${String(i + 1).padStart(4, '0')}`,
      collateral: [{ asset: 'USD', amount: money(collateral) }],
      positions,
    });
  }
  return accounts;
}

function pickBand(u: number) {
  let cumulative = 0;
  for (const band of BANDS) {
    cumulative += band.share;
    if (u < cumulative) return band;
  }
  return BANDS[0] as (typeof BANDS)[number];
}
