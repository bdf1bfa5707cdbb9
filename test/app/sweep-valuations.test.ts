/**
 * Each account is valued once per sweep: an account off the watchlist that changes state has its stored
 * status read before the write, and its transition is rebuilt from that status, not from a second valuation.
 * Valuations are counted by wrapping `valueAccount` (the one place an account is valued). And a sweep's
 * observer (the port breach indexing attaches to) hears of each page once it is done.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import type { MarginStatus } from '../../lib/domain/account/account.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { account, btc } from './sweep-fixtures.ts';

const valued = vi.hoisted(() => ({ accounts: [] as string[] }));

vi.mock(import('../../lib/domain/valuation/valuation.ts'), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    valueAccount: (...args: Parameters<typeof original.valueAccount>) => {
      valued.accounts.push(args[0].accountId);
      return original.valueAccount(...args);
    },
  };
});

const levels = { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };

async function ports(statuses: InMemoryMarginStatusStore, accounts: ReturnType<typeof account>[]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const alerts = new RecordingAlerts();
  const sweepPorts: SweepPorts = {
    accounts: new InMemoryAccountSource(accounts),
    thresholds,
    statuses,
    alerts,
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  };
  return { sweepPorts, alerts };
}

const okAtSequence = (accountId: string, sequence: number): MarginStatus => ({
  accountId,
  state: 'OK',
  sequence,
  updatedAt: '2026-11-23T00:00:00.000Z',
  thresholdSetId: 'set-0',
  runId: 'sweep-0',
  marginRatio: '5.00000000',
});

describe('sweepSegment values each account once', () => {
  beforeEach(() => {
    valued.accounts.length = 0;
  });

  it('values an account off the watchlist that changes state once, and its alert carries the stored sequence', async () => {
    // Prepare: back to OK long ago at sequence 4 (so off the watchlist), now short of margin; one steady account.
    const statuses = new InMemoryMarginStatusStore({ watchlist: true });
    statuses.items.set('worsens', okAtSequence('worsens', 4));
    const { sweepPorts, alerts } = await ports(statuses, [
      account('worsens', 1_700),
      account('steady', 10_000),
    ]);

    // Act
    const result = await sweepSegment(sweepPorts, {
      runId: 'sweep-1',
      segment: { segment: 0, totalSegments: 1 },
      levels,
    });

    // Assess
    expect(valued.accounts.sort()).toEqual(['steady', 'worsens']);
    expect(result.counts).toMatchObject({ accounts: 2, transitions: 1 });
    expect(alerts.published.map((a) => `${a.alertId} ${a.previousState}→${a.newState}`)).toEqual([
      'worsens:5 OK→MARGIN_CALL',
    ]);
  });

  it('values an account off the watchlist with no stored status once (first seen, already short)', async () => {
    const statuses = new InMemoryMarginStatusStore({ watchlist: true });
    const { sweepPorts, alerts } = await ports(statuses, [account('new', 1_500)]);

    await sweepSegment(sweepPorts, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 }, levels });

    expect(valued.accounts).toEqual(['new']);
    expect(alerts.published.map((a) => a.alertId)).toEqual(['new:1']);
  });

  it('values an account once when its stored status turns out not to be OK (the watchlist lagged)', async () => {
    // Stored in WARNING at sequence 2 but missing from the watchlist index: the rebuilt transition starts there.
    const statuses = new InMemoryMarginStatusStore({ watchlist: true });
    statuses.items.set('lagged', { ...okAtSequence('lagged', 2), state: 'WARNING' });
    const { sweepPorts, alerts } = await ports(statuses, [account('lagged', 1_500)]);

    await sweepSegment(sweepPorts, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 }, levels });

    expect(valued.accounts).toEqual(['lagged']);
    expect(alerts.published.map((a) => `${a.alertId} ${a.previousState}→${a.newState}`)).toEqual([
      'lagged:3 WARNING→MARGIN_CALL',
    ]);
  });
});

describe('sweepSegment observers', () => {
  it('tells its observer of each page once swept: its accounts, their states and what is unsettled', async () => {
    // Prepare: two pages; the alert of the account that worsens cannot be published.
    const statuses = new InMemoryMarginStatusStore();
    const { sweepPorts, alerts } = await ports(statuses, [
      account('steady', 10_000),
      account('worsens', 1_700),
      account('warned', 2_000),
    ]);
    alerts.failWhen = (alert) => alert.accountId === 'worsens';
    const heard: { accounts: string[]; states: [string, string][]; unsettled: [string, string][] }[] = [];
    const observed: SweepPorts = {
      ...sweepPorts,
      observer: {
        onValued: async (accounts, outcome) => {
          // The page is done before the observer hears of it: its transitions are written.
          for (const [id, state] of outcome.states) expect(statuses.items.get(id)?.state ?? 'OK').toBe(state);
          heard.push({
            accounts: accounts.map((a) => a.accountId),
            states: [...outcome.states],
            unsettled: [...outcome.unsettled],
          });
        },
      },
    };

    // Act
    await sweepSegment(observed, {
      runId: 'sweep-1',
      segment: { segment: 0, totalSegments: 1 },
      pageSize: 2,
      levels,
    });

    // Assess
    expect(heard).toEqual([
      {
        accounts: ['steady', 'worsens'],
        states: [
          ['steady', 'OK'],
          ['worsens', 'MARGIN_CALL'],
        ],
        unsettled: [['worsens', 'alert not yet published']],
      },
      { accounts: ['warned'], states: [['warned', 'WARNING']], unsettled: [] },
    ]);
  });
});
