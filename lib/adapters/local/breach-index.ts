/**
 * The breach index in memory: for tests, the bench and single-process local runs. Same contract as the
 * DynamoDB adapter (`lib/adapters/dynamodb/breach-index.ts`): entries per (set, instrument, account),
 * `crossed` answers below ≥ mark or above ≤ mark. A query is a scan of the instrument's entries, which is
 * fine in memory (about a millisecond per 100,000 entries).
 */
import type { BreachIndexEntry, BreachIndexKey } from '../../domain/account/breach-index.ts';
import type { BandStamp, BreachIndex } from '../../ports.ts';

interface Band {
  readonly below: number;
  readonly above: number;
}

export class InMemoryBreachIndex implements BreachIndex {
  /** setId → instrument → accountId → band. */
  private readonly sets = new Map<string, Map<string, Map<string, Band>>>();
  /** setId → accountId → what was last recorded for it. */
  private readonly stampsBySet = new Map<string, Map<string, BandStamp>>();
  /** Calls made, for tests and the bench's request accounting. */
  readonly calls = {
    record: 0,
    crossed: 0,
    entriesWritten: 0,
    entriesRemoved: 0,
    entriesReturned: 0,
    stampsRead: 0,
    stampsWritten: 0,
  };

  async record(
    setId: string,
    entries: readonly BreachIndexEntry[],
    removals: readonly BreachIndexKey[] = [],
    stamps: readonly BandStamp[] = [],
  ): Promise<void> {
    this.calls.record++;
    this.calls.entriesWritten += entries.length;
    this.calls.entriesRemoved += removals.length;
    this.calls.stampsWritten += stamps.length;
    let set = this.sets.get(setId);
    if (!set) {
      set = new Map();
      this.sets.set(setId, set);
    }
    for (const { instrument, accountId } of removals) set.get(instrument)?.delete(accountId);
    for (const entry of entries) {
      let byAccount = set.get(entry.instrument);
      if (!byAccount) {
        byAccount = new Map();
        set.set(entry.instrument, byAccount);
      }
      byAccount.set(entry.accountId, { below: entry.below, above: entry.above });
    }
    // After the entries, as the DynamoDB adapter does.
    let stamped = this.stampsBySet.get(setId);
    if (!stamped) {
      stamped = new Map();
      this.stampsBySet.set(setId, stamped);
    }
    for (const stamp of stamps) stamped.set(stamp.accountId, stamp);
  }

  async stamps(setId: string, accountIds: readonly string[]): Promise<ReadonlyMap<string, BandStamp>> {
    this.calls.stampsRead += accountIds.length;
    const found = new Map<string, BandStamp>();
    const stamped = this.stampsBySet.get(setId);
    for (const id of accountIds) {
      const stamp = stamped?.get(id);
      if (stamp) found.set(id, stamp);
    }
    return found;
  }

  /** Drop every entry and stamp of one account, as if the index had never held it (tests). */
  forget(setId: string, accountId: string): void {
    for (const byAccount of this.sets.get(setId)?.values() ?? []) byAccount.delete(accountId);
    this.stampsBySet.get(setId)?.delete(accountId);
  }

  /** Drop one account's entries but keep its stamp: an index that lost rows behind the stamp's back (tests). */
  loseEntries(setId: string, accountId: string): void {
    for (const byAccount of this.sets.get(setId)?.values() ?? []) byAccount.delete(accountId);
  }

  async crossed(setId: string, instrument: string, mark: number): Promise<readonly string[]> {
    this.calls.crossed++;
    const found: string[] = [];
    const byAccount = this.sets.get(setId)?.get(instrument);
    if (!byAccount) return found;
    for (const [accountId, band] of byAccount) {
      if (band.below >= mark || band.above <= mark) found.push(accountId);
    }
    this.calls.entriesReturned += found.length;
    return found;
  }

  /** Entries held for `setId` (all instruments). */
  size(setId: string): number {
    let n = 0;
    for (const byAccount of this.sets.get(setId)?.values() ?? []) n += byAccount.size;
    return n;
  }

  /** One account's band for an instrument, if indexed. */
  band(setId: string, instrument: string, accountId: string): Band | undefined {
    return this.sets.get(setId)?.get(instrument)?.get(accountId);
  }
}
