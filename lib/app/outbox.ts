/**
 * The alert outbox of the sweeps. A transition is written with its alert as the status's `pendingAlert`
 * (`MarginStatusStore.applyTransition`); the alert is then published and, once out, confirmed by clearing
 * that pending copy (`markAlertPublished`, conditional on the sequence). A pending alert left by a failed
 * publish or a crash is re-sent, with the same alertId, the next time its account is swept. The full sweep
 * and the targeted sweep both deliver through here.
 */
import type { MarginAlert, MarginStatus } from '../domain/account/account.ts';
import type { AlertPublisher, MarginStatusStore } from '../ports.ts';
import type { SweepTally } from './sweep-tally.ts';

export interface OutboxPorts {
  readonly alerts: AlertPublisher;
  readonly statuses: MarginStatusStore;
}

/** Confirmations written at once: enough to hide a write's latency, few enough not to trip throttling. */
const CONFIRM_CONCURRENCY = 16;

/**
 * Re-publish the pending alerts of these accounts (announced but unconfirmed: `pendingAlert.sequence` is
 * the stored sequence). Returns the accounts whose pending alert is still not published: they must not be
 * moved on this time, or a newer transition would overwrite the undelivered alert.
 *
 * @example
 * const undelivered = await resendPending(ports, tally, page.accounts, statuses);
 */
export async function resendPending(
  ports: OutboxPorts,
  tally: SweepTally,
  accounts: readonly { readonly accountId: string }[],
  statuses: ReadonlyMap<string, MarginStatus>,
): Promise<Set<string>> {
  const pending: MarginAlert[] = [];
  for (const { accountId } of accounts) {
    const status = statuses.get(accountId);
    if (status?.pendingAlert !== undefined && status.pendingAlert.sequence === status.sequence) {
      pending.push(status.pendingAlert);
    }
  }
  if (pending.length === 0) return new Set();
  const delivered = await publishAndConfirm(ports, tally, pending);
  tally.counts.alertsResent += delivered.size;
  return new Set(pending.filter((a) => !delivered.has(a.alertId)).map((a) => a.accountId));
}

/**
 * Publish `alerts`, then clear each published one's pending copy; a failed one stays pending for the next
 * sweep. Returns the published alertIds.
 *
 * @example
 * const delivered = await publishAndConfirm(ports, tally, applied);
 */
export async function publishAndConfirm(
  ports: OutboxPorts,
  tally: SweepTally,
  alerts: readonly MarginAlert[],
): Promise<Set<string>> {
  const result = await ports.alerts.publish(alerts);
  const failed = new Set(result.failed.map((f) => f.alertId));
  const delivered = alerts.filter((a) => !failed.has(a.alertId));
  tally.publish(delivered, failed.size);
  for (let i = 0; i < delivered.length; i += CONFIRM_CONCURRENCY) {
    await Promise.all(
      delivered
        .slice(i, i + CONFIRM_CONCURRENCY)
        // An alert back to OK also takes its account off the watchlist.
        .map((a) => ports.statuses.markAlertPublished(a.accountId, a.sequence, a.newState !== 'OK')),
    );
  }
  return new Set(delivered.map((a) => a.alertId));
}
