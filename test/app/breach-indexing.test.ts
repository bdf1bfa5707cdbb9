import { describe, expect, it } from 'vitest';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { liveMarks } from './marks.ts';
import { account, btc, PRICE } from './sweep-fixtures.ts';

const segment = { segment: 0, totalSegments: 1 };
const DAY = 24 * 3600 * 1000;

// One BTC long at 30,000, maintenance 6%: WARNING below a ratio of 1.2.
const near = account('near', 2_300); // 1.28: WARNING once BTC is under about 29,770
const far = account('far', 20_000);
const warned = account('warned', 2_000); // WARNING now

/** A book whose accounts can be replaced between sweeps, over one index, status store and set. */
async function book(accounts: Account[]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const shared = {
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  };
  const index = shared.breachIndex;
  let ports: SweepPorts = { ...shared, accounts: new InMemoryAccounts(accounts) };
  return {
    index,
    clock: shared.clock,
    replace(next: Account[]) {
      ports = { ...shared, accounts: new InMemoryAccounts(next) };
    },
    /** A full sweep; what it wrote to the index. */
    async sweep(runId: string, price = PRICE) {
      const before = { ...index.calls };
      const result = await sweepSegment(ports, { runId, segment, marks: liveMarks({ BTC: price }) });
      return {
        counts: result.counts,
        entries: index.calls.entriesWritten - before.entriesWritten,
        stamps: index.calls.stampsWritten - before.stampsWritten,
        writes: index.calls.record - before.record,
      };
    },
  };
}

describe('full sweeps write only the bands that changed', () => {
  it('rewrites no band of an account that did not change', async () => {
    const b = await book([near, far, warned]);
    const first = await b.sweep('full-1');
    expect(first).toMatchObject({ entries: 3, stamps: 3, writes: 1 });

    const second = await b.sweep('full-2', PRICE * 1.001);
    expect(second).toMatchObject({ entries: 0, stamps: 0, writes: 0 });
    expect(second.counts).toMatchObject({ indexed: 0, indexUnchanged: 3 });
    // No band computed either: the stamp alone says the stored one holds.
    expect(b.index.band('set-1', 'BTC', 'near')).toBeDefined();
  });

  it('rewrites exactly the band of an account whose record changed', async () => {
    const b = await book([near, far, warned]);
    await b.sweep('full-1');
    const before = b.index.band('set-1', 'BTC', 'far');
    b.replace([near, account('far', 9_000), warned]);

    const changed = await b.sweep('full-2');
    expect(changed).toMatchObject({ entries: 1, stamps: 1, writes: 1 });
    expect(changed.counts).toMatchObject({ indexed: 1, indexUnchanged: 2 });
    expect(b.index.band('set-1', 'BTC', 'far')).not.toEqual(before);
  });

  it('rewrites the bands a move crossed, and those of accounts that changed state', async () => {
    const b = await book([near, far, warned]);
    await b.sweep('full-1');
    const nearBand = b.index.band('set-1', 'BTC', 'near');
    const farBand = b.index.band('set-1', 'BTC', 'far');
    // Down 1%: near (OK → WARNING) and warned (WARNING → MARGIN_CALL) cross their bands; far does not.
    const moved = await b.sweep('full-2', PRICE * 0.99);
    expect(moved.counts.transitions).toBe(2);
    expect(moved).toMatchObject({ entries: 2, stamps: 2, writes: 1 });
    expect(b.index.band('set-1', 'BTC', 'near')).not.toEqual(nearBand);
    expect(b.index.band('set-1', 'BTC', 'far')).toEqual(farBand);
  });

  it('repairs an account the index lost, at once when its stamp went with it', async () => {
    const b = await book([near, far, warned]);
    await b.sweep('full-1');
    b.index.forget('set-1', 'near');

    const repaired = await b.sweep('full-2');
    expect(repaired).toMatchObject({ entries: 1, stamps: 1 });
    expect(b.index.band('set-1', 'BTC', 'near')).toBeDefined();
  });

  it('repairs entries lost behind their stamp within the refresh period', async () => {
    const b = await book([near, far, warned]);
    await b.sweep('full-1');
    b.index.loseEntries('set-1', 'near');
    b.clock.time += DAY;

    const refreshed = await b.sweep('full-2');
    // A day on, every stamp is due: all three are rewritten (their TTL refreshed), near's entry restored.
    expect(refreshed).toMatchObject({ entries: 3, stamps: 3 });
    expect(b.index.band('set-1', 'BTC', 'near')).toBeDefined();
  });

  it('spreads the refresh: half a day on, only the accounts whose jittered period ran out are rewritten', async () => {
    const accounts = Array.from({ length: 200 }, (_, i) => account(`a${i}`, 5_000));
    const b = await book(accounts);
    await b.sweep('full-1');
    b.clock.time += 0.75 * DAY;
    const partial = await b.sweep('full-2');
    // Periods are spread over [½, 1) day: about half are due three quarters of a day on.
    expect(partial.entries).toBeGreaterThan(50);
    expect(partial.entries).toBeLessThan(150);
  });

  it('indexes every account again under a new threshold set', async () => {
    const b = await book([near, far, warned]);
    await b.sweep('full-1');
    const fresh = await book([near, far, warned]);
    expect((await fresh.sweep('full-1')).entries).toBe(3);
  });
});
