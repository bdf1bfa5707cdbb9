/**
 * Breach indexing as an observer of the sweeps: after each swept page it records the breach bands
 * (`lib/domain/account/breach.ts`) of the accounts the page valued, so the targeted sweep
 * (`targeted-sweep.ts`) can later revisit only the accounts a price move may have pushed over a level. The
 * full sweep attaches it when given a breach index; the targeted sweep always does, to re-index what it
 * revisits. The page sweep itself knows nothing of the index.
 */
import { createHash } from 'node:crypto';
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
import type { BandStamp, BreachIndex } from '../ports.ts';
import type { PageOutcome, SweepObserver } from './sweep.ts';

/** How the indexer treats an account whose band is already recorded. */
export interface BreachIndexerOptions {
  /**
   * Rewrite only the bands that changed (the full sweep): read the page's stamps first and skip an account
   * whose record, state, levels and valuation policy are those its stamp was computed from, whose stored
   * band the marks have not crossed, and whose stamp is younger than `refreshAfterMs`. Without it every
   * account valued is re-indexed (the targeted sweep: it revisits only crossed bands, which must be
   * rewritten). Needs `BreachIndex.stamps`; an index without it is written in full.
   * @default false
   */
  readonly onlyChanged?: boolean;
  /**
   * A stamp older than this (epoch ms, jittered per account between half and all of it so one sweep does
   * not rewrite the whole book) is rewritten anyway: it refreshes the items' TTL and repairs entries lost
   * behind their stamp's back. @default one day
   */
  readonly refreshAfterMs?: number;
  /**
   * Do not rewrite an "every sweep" entry already stored (the targeted sweep): an account whose band is
   * again δ = 0 (or that still cannot be valued), that the index already revisits on every sweep and whose
   * state this sweep did not change, costs no write. That entry is crossed by any mark wherever it was
   * computed, so keeping it is safe; rewriting it every minute was most of the watch's index writes. Needs
   * the page's `transitioned`; without it every band is written. The full sweep leaves it off: it rewrites
   * these entries, which refreshes their TTL.
   * @default false
   */
  readonly keepEverySweep?: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Records the breach bands of swept accounts. Accounts that got no state this time (deferred, unvaluable,
 * stale) are indexed to be revisited by every targeted sweep; one that was so before and now has a real
 * band has its every-sweep entry removed. With `onlyChanged`, an account whose stored band is still valid
 * costs neither a band computation nor a write.
 *
 * @example
 * const indexer = await BreachIndexer.start(index, set.setId, snapshot, levels, clock.now());
 * await indexer.onValued(page.accounts, outcome); // one index write per page
 */
export class BreachIndexer implements SweepObserver {
  private readonly context: string;

  private constructor(
    private readonly breachIndex: BreachIndex,
    private readonly setId: string,
    private readonly bands: BreachBandCalculator,
    private readonly everySweep: Set<string>,
    private readonly asOf: number,
    private readonly options: BreachIndexerOptions,
    levels: MarginLevels,
  ) {
    // A band depends on the levels and the valuation policy as much as on the account.
    this.context = JSON.stringify([levels, bands.snapshot.policy]);
  }

  /** Accounts indexed so far. */
  indexed = 0;
  /** Accounts whose stored band was still valid, so not rewritten (`onlyChanged`). */
  unchanged = 0;
  /** Accounts whose stored every-sweep entry was kept, not rewritten (`keepEverySweep`). */
  kept = 0;
  /** Valuations spent on bands so far (the cost of keeping the index). */
  valuations = 0;

  static async start(
    index: BreachIndex,
    setId: string,
    snapshot: MarketSnapshot,
    levels: MarginLevels,
    asOf: number,
    options: BreachIndexerOptions = {},
  ): Promise<BreachIndexer> {
    const everySweep = new Set(await index.crossed(setId, EVERY_SWEEP, EVERY_SWEEP_MARK));
    return new BreachIndexer(
      index,
      setId,
      new BreachBandCalculator(snapshot, levels, { asOf }),
      everySweep,
      asOf,
      options,
      levels,
    );
  }

  /** Record the page's bands in one call (and, with `onlyChanged`, read its stamps in one). */
  async onValued(accounts: readonly Account[], outcome: PageOutcome): Promise<void> {
    const entries: BreachIndexEntry[] = [];
    const removals: { accountId: string; instrument: string }[] = [];
    const stamps: BandStamp[] = [];
    const fingerprints = new Map<string, string>();
    for (const account of accounts) {
      const state = outcome.states.get(account.accountId);
      if (state !== undefined && !outcome.unsettled.has(account.accountId) && stampable(account))
        fingerprints.set(account.accountId, this.fingerprint(account, state));
    }
    const stored =
      this.options.onlyChanged && this.breachIndex.stamps && fingerprints.size > 0
        ? await this.breachIndex.stamps(this.setId, [...fingerprints.keys()])
        : new Map<string, BandStamp>();
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
      const fingerprint = fingerprints.get(id);
      const stamp = stored.get(id);
      // An every-sweep entry is kept until a rewrite removes it.
      const valid = stamp !== undefined && !this.everySweep.has(id) && this.stillValid(stamp, fingerprint);
      if (valid) {
        this.unchanged++;
        continue;
      }
      const band = this.bands.band(account, state);
      this.valuations += band.valuations;
      // δ = 0 is crossed by any mark: stored as the every-sweep entry (one entry, whatever the instruments),
      // which a targeted sweep can then keep instead of rewriting it at each minute's marks. Its instrument
      // entries, if any, are left: crossed or not, they only name an account the sweep revisits anyway.
      const everySweep = band.method === 'every-sweep' || (band.safeMove === 0 && band.entries.length > 0);
      if (everySweep) {
        if (
          this.options.keepEverySweep &&
          this.everySweep.has(id) &&
          outcome.transitioned !== undefined &&
          !outcome.transitioned.has(id)
        ) {
          this.kept++;
          continue;
        }
        entries.push(everySweepEntry(id));
        this.everySweep.add(id);
        this.indexed++;
        continue;
      }
      entries.push(...band.entries);
      if (this.everySweep.delete(id)) removals.push({ accountId: id, instrument: EVERY_SWEEP });
      if (fingerprint !== undefined)
        stamps.push({ accountId: id, fingerprint, entries: band.entries, writtenAt: this.asOf });
      this.indexed++;
    }
    if (entries.length > 0 || removals.length > 0 || stamps.length > 0)
      await this.breachIndex.record(this.setId, entries, removals, stamps);
  }

  private fingerprint(account: Account, state: string): string {
    return createHash('sha256')
      .update(this.context)
      .update('\u0000')
      .update(state)
      .update('\u0000')
      .update(JSON.stringify(account))
      .digest('base64url');
  }

  /**
   * Same record, state, levels and policy; every stored edge still strictly around its mark (a crossed one
   * is due a rewrite: the watch would revisit it every minute until then); young enough.
   */
  private stillValid(stamp: BandStamp, fingerprint: string | undefined): boolean {
    if (stamp.fingerprint !== fingerprint) return false;
    const refreshAfter = this.options.refreshAfterMs ?? DAY_MS;
    if (this.asOf - stamp.writtenAt >= refreshAfter * (0.5 + 0.5 * jitter(stamp.accountId))) return false;
    for (const entry of stamp.entries) {
      const mark = this.bands.snapshot.instruments.get(entry.instrument)?.markPrice;
      if (mark === undefined || !(entry.below < mark && mark < entry.above)) return false;
    }
    return true;
  }
}

/**
 * Accounts whose band depends on the time (options decay and expire, dated futures expire) are recomputed
 * on every full sweep, as before stamps existed; so are accounts whose band is "every sweep".
 */
function stampable(account: Account): boolean {
  return account.positions.every((p) => p.kind !== 'option' && p.expiry === undefined);
}

/** A fixed fraction in [0, 1) per account, to spread stamp refreshes over the refresh period. */
function jitter(accountId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) hash = Math.imul(hash ^ accountId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32;
}
