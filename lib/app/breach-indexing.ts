/**
 * Breach indexing as an observer of the sweeps: after each swept page it records the breach bands
 * (`lib/domain/account/breach.ts`) of the accounts the page valued, so the targeted sweep
 * (`targeted-sweep.ts`) can later revisit only the accounts a price move may have pushed over a level. The
 * full sweep attaches it when given a breach index; the targeted sweep always does, to re-index what it
 * revisits. The page sweep itself knows nothing of the index.
 */
import type { Account } from '../domain/account/account.ts';
import {
  BreachBandCalculator,
  type BreachIndexEntry,
  EVERY_SWEEP,
  EVERY_SWEEP_MARK,
  everySweepEntry,
} from '../domain/account/breach.ts';
import type { MarginLevels } from '../domain/account/state-machine.ts';
import type { MarketSnapshot } from '../domain/valuation/snapshot.ts';
import type { BreachIndex } from '../ports.ts';
import type { PageOutcome, SweepObserver } from './sweep.ts';

/**
 * Records the breach bands of swept accounts. Accounts that got no state this time (deferred, unvaluable,
 * stale) are indexed to be revisited by every targeted sweep; one that was so before and now has a real
 * band has its every-sweep entry removed.
 *
 * @example
 * const indexer = await BreachIndexer.start(index, set.setId, snapshot, levels, clock.now());
 * await indexer.onValued(page.accounts, outcome); // one index write per page
 */
export class BreachIndexer implements SweepObserver {
  private constructor(
    private readonly breachIndex: BreachIndex,
    private readonly setId: string,
    private readonly bands: BreachBandCalculator,
    private readonly everySweep: Set<string>,
  ) {}

  /** Accounts indexed so far. */
  indexed = 0;
  /** Valuations spent on bands so far (the cost of keeping the index). */
  valuations = 0;

  static async start(
    index: BreachIndex,
    setId: string,
    snapshot: MarketSnapshot,
    levels: MarginLevels,
    asOf: number,
  ): Promise<BreachIndexer> {
    const everySweep = new Set(await index.crossed(setId, EVERY_SWEEP, EVERY_SWEEP_MARK));
    return new BreachIndexer(index, setId, new BreachBandCalculator(snapshot, levels, { asOf }), everySweep);
  }

  /** Record the page's bands in one call. */
  async onValued(accounts: readonly Account[], outcome: PageOutcome): Promise<void> {
    const entries: BreachIndexEntry[] = [];
    const removals: { accountId: string; instrument: string }[] = [];
    for (const account of accounts) {
      const id = account.accountId;
      const state = outcome.states.get(id);
      if (state === undefined || outcome.unsettled.has(id)) {
        if (!outcome.unsettled.has(id)) continue;
        entries.push(everySweepEntry(id));
        this.everySweep.add(id);
        this.indexed++;
        continue;
      }
      const band = this.bands.band(account, state);
      this.valuations += band.valuations;
      entries.push(...band.entries);
      if (band.method !== 'every-sweep' && this.everySweep.delete(id)) {
        removals.push({ accountId: id, instrument: EVERY_SWEEP });
      } else if (band.method === 'every-sweep') {
        this.everySweep.add(id);
      }
      this.indexed++;
    }
    if (entries.length > 0 || removals.length > 0)
      await this.breachIndex.record(this.setId, entries, removals);
  }
}
