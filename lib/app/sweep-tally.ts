/**
 * What a sweep has counted, rejected and announced so far. One tally belongs to one sweep (a segment's
 * invocation, or a targeted sweep); each page it sweeps adds to it, and the outbox counts its sends in it.
 */
import type { MarginAlert } from '../domain/account/account.ts';
import type { RejectedAccountRecord } from '../ports.ts';

export interface SweepCounts {
  accounts: number;
  rejected: number;
  transitions: number;
  stale: number;
  /** Alerts published, re-sent pending ones included. */
  alertsPublished: number;
  /** Alerts not published after the publisher's retries; each stays pending on its status and is re-sent. */
  alertsFailed: number;
  /** Pending alerts of earlier, unconfirmed publishes sent again (same alertId) and now confirmed. */
  alertsResent?: number;
  /** Accounts not valued this time because their pending alert still could not be published. */
  deferred?: number;
  /** Accounts whose breach band was recorded (only with a breach index). */
  indexed?: number;
}

/** Every count a page sweep keeps (`indexed` is the indexer's). */
export type PageCounts = Required<Omit<SweepCounts, 'indexed'>>;

export function emptyPageCounts(): PageCounts {
  return {
    accounts: 0,
    rejected: 0,
    transitions: 0,
    stale: 0,
    alertsPublished: 0,
    alertsFailed: 0,
    alertsResent: 0,
    deferred: 0,
  };
}

/**
 * The sweep's running totals: its counts (a targeted sweep's carry more, hence `C`), the records it
 * rejected (key and reason) and the alerts it published, in order.
 *
 * @example
 * const tally = new SweepTally(emptyPageCounts());
 * tally.reject(page.rejected);
 * tally.counts.rejected; // page.rejected.length
 */
export class SweepTally<C extends PageCounts = PageCounts> {
  readonly rejected: RejectedAccountRecord[] = [];
  readonly published: MarginAlert[] = [];

  constructor(readonly counts: C) {}

  /** Records that could not be read or valued: reported with their reason, the others go on. */
  reject(records: readonly RejectedAccountRecord[]): void {
    this.rejected.push(...records);
    this.counts.rejected += records.length;
  }

  /** A publish: the alerts delivered (kept, in order) and how many failed (they stay pending). */
  publish(delivered: readonly MarginAlert[], failed: number): void {
    this.published.push(...delivered);
    this.counts.alertsPublished += delivered.length;
    this.counts.alertsFailed += failed;
  }
}
