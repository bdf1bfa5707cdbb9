/**
 * The breach index's entries and the test a targeted sweep applies to them: revisit an account when one of
 * its instruments' marks is at or beyond its band. What the bands are and how they are computed is in
 * `breach.ts`; the index's store is the `BreachIndex` port.
 */

/**
 * Instrument key of the entries of accounts to revisit on every targeted sweep (unvaluable ones). Not a
 * valid instrument symbol, so it cannot collide; its entries sit at price 1 and are queried at mark 1.
 */
export const EVERY_SWEEP = '*';
export const EVERY_SWEEP_MARK = 1;

/** One row of the breach index: revisit `accountId` when `instrument`'s mark is ≤ below or ≥ above. */
export interface BreachIndexEntry {
  readonly accountId: string;
  readonly instrument: string;
  readonly below: number;
  readonly above: number;
}

/** An entry's key within one threshold set. */
export interface BreachIndexKey {
  readonly accountId: string;
  readonly instrument: string;
}

/** The entry that makes every targeted sweep revisit the account. */
export function everySweepEntry(accountId: string): BreachIndexEntry {
  return { accountId, instrument: EVERY_SWEEP, below: EVERY_SWEEP_MARK, above: EVERY_SWEEP_MARK };
}

/** True when any of the account's entries is crossed by `marks` (mark ≤ below or ≥ above). */
export function bandCrossed(
  entries: readonly BreachIndexEntry[],
  marks: ReadonlyMap<string, number>,
): boolean {
  for (const entry of entries) {
    const mark = entry.instrument === EVERY_SWEEP ? EVERY_SWEEP_MARK : marks.get(entry.instrument);
    if (mark === undefined) continue;
    if (mark <= entry.below || mark >= entry.above) return true;
  }
  return false;
}
