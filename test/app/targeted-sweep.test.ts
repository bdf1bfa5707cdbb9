import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { sweepMoved, type TargetedSweepPorts } from '../../lib/app/targeted-sweep.ts';
import type { Account, MarginState } from '../../lib/domain/account/account.ts';
import { EVERY_SWEEP, isWorse } from '../../lib/domain/account/breach.ts';
import { nextMarginState, ratioForState } from '../../lib/domain/account/state-machine.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import { marketSnapshotAt } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';
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

const ETH_PRICE = 2_000;
const eth: Threshold = { ...btc, instrument: 'ETH', referencePrice: ETH_PRICE };

async function setup(accounts: Account[], instruments: Threshold[] = [btc]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: instruments },
    undefined,
  );
  const store = new InMemoryAccounts(accounts);
  const ports = {
    accounts: store,
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  } satisfies TargetedSweepPorts;
  return { ports, store };
}

// One BTC long at 30,000, maintenance 6%: ratio = (C + p − 30,000) / (0.06 p). WARNING below 1.2.
const near = account('near', 2_300); // 1.28 at the mark: WARNING once BTC is under about 29,770
const far = account('far', 20_000); // 11.1: no move short of −66% reaches a level
const warned = account('warned', 2_000); // 1.11: WARNING now
const edge = account('edge', 2_161); // 1.2006: WARNING a few dollars lower, so its band is 0

describe('sweepMoved', () => {
  it('revisits and alerts an account a move pushes over a level, and does not read the others', async () => {
    const { ports, store } = await setup([near, far, warned]);
    const full = await sweepSegment(ports, { runId: 'full-1', segment });
    expect(full.counts).toMatchObject({ accounts: 3, indexed: 3, transitions: 1 });
    const scanned = store.reads.getItems;

    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 0.99 }) });

    expect(result.revisited).toContain('near');
    expect(result.revisited).not.toContain('far');
    expect(store.reads.getItems - scanned).toBe(result.counts.revisited);
    // near: OK → WARNING; warned (1.11 → 0.95): WARNING → MARGIN_CALL.
    expect(result.counts).toMatchObject({ revisited: 2, transitions: 2, alertsPublished: 2, missing: 0 });
    expect(result.counts.reindexed).toBe(result.counts.revisited);
    expect(result.counts.bandValuations).toBeGreaterThan(result.counts.revisited);
    const alerts = new Map(result.alerts.map((a) => [a.accountId, a]));
    expect(alerts.get('near')).toMatchObject({ previousState: 'OK', newState: 'WARNING', runId: 'moved-1' });
    expect(alerts.get('warned')).toMatchObject({ previousState: 'WARNING', newState: 'MARGIN_CALL' });
    expect((await ports.statuses.get(['near'])).get('near')?.state).toBe('WARNING');
  });

  it('misses an account the index does not name, and the next full sweep catches it', async () => {
    const { ports } = await setup([near, far]);
    // The first full sweep runs without the index (e.g. before it was deployed): nothing is indexed.
    const { breachIndex: _unused, ...unindexed } = ports;
    await sweepSegment(unindexed, { runId: 'full-1', segment });
    const moved = liveMarks({ BTC: PRICE * 0.99 });

    const watch = await sweepMoved(ports, { runId: 'moved-1', marks: moved });
    expect(watch.revisited).not.toContain('near');
    expect(ports.alerts.published).toHaveLength(0);

    const full = await sweepSegment(ports, { runId: 'full-2', segment, marks: moved });
    expect(full.counts.transitions).toBe(1);
    expect(ports.alerts.published.map((a) => [a.accountId, a.newState])).toEqual([['near', 'WARNING']]);
    // ...and indexes it, so the next move finds it.
    expect(full.counts.indexed).toBe(2);
  });

  it('announces each change once when a targeted sweep races a full sweep on the same accounts', async () => {
    const { ports } = await setup([near, far, warned]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    const before = ports.alerts.published.length;
    const moved = liveMarks({ BTC: PRICE * 0.99 });

    await Promise.all([
      sweepMoved(ports, { runId: 'moved-1', marks: moved }),
      sweepSegment(ports, { runId: 'full-2', segment, marks: moved }),
    ]);

    const raced = ports.alerts.published.slice(before).map((a) => `${a.accountId}:${a.newState}`);
    expect(raced.sort()).toEqual(['near:WARNING', 'warned:MARGIN_CALL']);
    expect((await ports.statuses.get(['near'])).get('near')?.sequence).toBe(1);
    expect((await ports.statuses.get(['warned'])).get('warned')?.sequence).toBe(2);
  });

  it('keeps the every-sweep entry of an account sitting at its level instead of rewriting it each minute', async () => {
    const { ports } = await setup([edge, far]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    // δ = 0 is crossed by any mark: the account is indexed to be revisited on every sweep.
    expect(ports.breachIndex.band('set-1', EVERY_SWEEP, 'edge')).toBeDefined();
    expect(ports.breachIndex.band('set-1', 'BTC', 'edge')).toBeUndefined();
    const written = () => ports.breachIndex.calls.entriesWritten;
    const before = written();
    for (const [minute, move] of [1.0001, 1.00005, 1.0001].entries()) {
      const quiet = await sweepMoved(ports, {
        runId: `moved-${minute}`,
        marks: liveMarks({ BTC: PRICE * move }),
      });
      expect(quiet.revisited).toEqual(['edge']);
      expect(quiet.counts.transitions).toBe(0);
    }
    // Revisited each minute, rewritten never: its stored entry is crossed by any mark wherever computed.
    expect(written()).toBe(before);

    // A move over the level: the state changes, so the band is written anew (never kept across a change).
    const down = await sweepMoved(ports, { runId: 'moved-down', marks: liveMarks({ BTC: PRICE * 0.999 }) });
    expect(down.alerts.map((a) => `${a.accountId}:${a.newState}`)).toEqual(['edge:WARNING']);
    expect(written()).toBeGreaterThan(before);
  });

  it('revisits, in the minute it happens, every account a random marks path pushes over a level', async () => {
    // The guarantee (futures, no correlation offsets): whatever the path, an account whose stored state the
    // minute's marks would worsen is revisited in that very minute and moved, however its band was stored
    // (a real band, δ = 0 kept as "every sweep", rewritten or kept).
    const leg = fc.record({
      instrument: fc.constantFrom('BTC', 'ETH'),
      notional: fc.double({ min: 5_000, max: 2_000_000, noNaN: true }),
      long: fc.boolean(),
      entry: fc.double({ min: 0.998, max: 1.002, noNaN: true }),
    });
    const accountArb = fc.record({
      legs: fc.uniqueArray(leg, { minLength: 1, maxLength: 2, selector: (l) => l.instrument }),
      // Ratios from deep in LIQUIDATION to comfortably OK, most of them near a level.
      ratio: fc.oneof(
        fc.double({ min: 0.6, max: 1.6, noNaN: true }),
        fc
          .constantFrom(0.8, 1, 1.2)
          .chain((level) => fc.double({ min: level, max: level * 1.02, noNaN: true })),
      ),
    });
    const step = fc.oneof(
      fc.double({ min: -0.001, max: 0.001, noNaN: true }), // a quiet minute
      fc.double({ min: -0.006, max: 0.006, noNaN: true }), // a busy one
      fc.double({ min: -0.04, max: 0.04, noNaN: true }), // a sharp one
      fc.constant(0),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(accountArb, { minLength: 8, maxLength: 16 }),
        fc.array(fc.tuple(step, step), { minLength: 20, maxLength: 30 }),
        async (drawn, path) => {
          const marks0: Record<string, number> = { BTC: PRICE, ETH: ETH_PRICE };
          const accounts: Account[] = drawn.map(({ legs, ratio }, i) => {
            const maintenance = legs.reduce((sum, l) => sum + l.notional * 0.06, 0);
            return {
              accountId: `a${i}`,
              collateral: [{ asset: 'USD', amount: (maintenance * ratio).toFixed(2) }],
              positions: legs.map((l) => {
                const mark = marks0[l.instrument] as number;
                return {
                  kind: 'perpetual' as const,
                  instrument: l.instrument,
                  quantity: ((l.long ? 1 : -1) * (l.notional / mark)).toFixed(6),
                  entryPrice: (mark * l.entry).toFixed(2),
                  settlement: 'linear' as const,
                };
              }),
            };
          });
          const { ports } = await setup(accounts, [btc, eth]);
          const set = await ports.thresholds.currentSet();
          if (!set) throw new Error('no set');
          await sweepSegment(ports, { runId: 'full-0', segment, marks: liveMarks(marks0) });
          const marks = { ...marks0 };
          for (const [minute, [btcMove, ethMove]] of path.entries()) {
            marks.BTC = (marks.BTC as number) * (1 + btcMove);
            marks.ETH = (marks.ETH as number) * (1 + ethMove);
            const stored = await ports.statuses.get(accounts.map((a) => a.accountId));
            const stateOf = (id: string): MarginState => stored.get(id)?.state ?? 'OK';
            // Independently: the state machine from each stored state at this minute's marks.
            const snapshot = marketSnapshotAt(set, liveMarks(marks));
            const due = new Map<string, MarginState>();
            for (const a of accounts) {
              const ratio = ratioForState(valueAccount(a, snapshot, ports.clock.now()));
              const next = nextMarginState(stateOf(a.accountId), ratio, DEFAULT_THRESHOLD_POLICY.levels);
              if (isWorse(stateOf(a.accountId), next)) due.set(a.accountId, next);
            }
            const result = await sweepMoved(ports, { runId: `moved-${minute}`, marks: liveMarks(marks) });
            const after = await ports.statuses.get([...due.keys()]);
            for (const [id, next] of due) {
              expect(result.revisited, `minute ${minute}: ${id} → ${next}`).toContain(id);
              expect(after.get(id)?.state, `minute ${minute}: ${id}`).toBe(next);
            }
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('reads no account when the move stays inside every band', async () => {
    const { ports, store } = await setup([near, far]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 1.001 }) });
    expect(result.counts).toMatchObject({ crossed: 0, revisited: 0, accounts: 0 });
    expect(store.reads.getItems).toBe(0);
    // One query per instrument of the set, plus the every-sweep entries.
    expect(result.counts.indexQueries).toBe(2);
  });

  it('re-indexes a revisited account at the new marks', async () => {
    const { ports } = await setup([near]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    const before = ports.breachIndex.band('set-1', 'BTC', 'near');
    await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: 29_000 }) });
    const after = ports.breachIndex.band('set-1', 'BTC', 'near');
    expect(before?.below).toBeLessThan(PRICE);
    // Now in WARNING at 29,000: the band is around 29,000 (recovery above, MARGIN_CALL below).
    expect(after?.below).toBeLessThanOrEqual(29_000);
    expect(after?.above).toBeGreaterThanOrEqual(29_000);
    expect(after).not.toEqual(before);
  });

  it('revisits an unvaluable account on every sweep and reports it, never drops it', async () => {
    const doge: Account = {
      accountId: 'doge',
      collateral: [{ asset: 'USD', amount: '10' }],
      positions: [
        { kind: 'perpetual', instrument: 'DOGE', quantity: '1', entryPrice: '1', settlement: 'linear' },
      ],
    };
    const { ports } = await setup([doge, far]);
    const full = await sweepSegment(ports, { runId: 'full-1', segment });
    expect(full.counts).toMatchObject({ rejected: 1, indexed: 2 });
    expect(ports.breachIndex.band('set-1', EVERY_SWEEP, 'doge')).toBeDefined();
    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE }) });
    expect(result.revisited).toEqual(['doge']);
    expect(result.rejected).toEqual([{ accountKey: 'doge', reason: expect.stringMatching(/DOGE/) }]);
    expect(ports.ops.events.some((e) => e.type === 'accounts.rejected' && e.runId === 'moved-1')).toBe(true);
  });

  it('retries an undelivered alert on the next targeted sweep, then gives the account a real band', async () => {
    const { ports } = await setup([warned, far]);
    ports.alerts.failWhen = () => true;
    const full = await sweepSegment(ports, { runId: 'full-1', segment });
    expect(full.counts).toMatchObject({ transitions: 1, alertsFailed: 1 });
    ports.alerts.failWhen = undefined;
    // The pending alert re-sent, the account valued; its every-sweep entry replaced by a band.
    const first = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE }) });
    expect(first.counts).toMatchObject({ alertsResent: 1, alertsPublished: 1 });
    expect(ports.breachIndex.band('set-1', EVERY_SWEEP, 'warned')).toBeUndefined();
    const second = await sweepMoved(ports, { runId: 'moved-2', marks: liveMarks({ BTC: PRICE }) });
    expect(second.counts.revisited).toBe(0);
  });

  it('announces every batch before re-indexing any, and a crash while re-indexing neither loses nor repeats an alert', async () => {
    const { ports } = await setup([near, far, warned]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    const before = ports.alerts.published.length;
    // The index dies on its first write of the targeted sweep (the worker crashes mid re-index).
    const index = ports.breachIndex;
    const record = index.record.bind(index);
    let alertsAtFirstWrite: number | undefined;
    index.record = async () => {
      alertsAtFirstWrite ??= ports.alerts.published.length - before;
      throw new Error('worker lost while re-indexing');
    };
    const moved = liveMarks({ BTC: PRICE * 0.99 });
    // One account per batch: before, the first batch's re-index came before the second batch's alert.
    await expect(sweepMoved(ports, { runId: 'moved-1', marks: moved, batchSize: 1 })).rejects.toThrow(
      'worker lost',
    );
    expect(alertsAtFirstWrite).toBe(2);

    // The next minute: the old bands are still crossed, the states already stored; re-indexed, no repeat.
    index.record = record;
    const next = await sweepMoved(ports, { runId: 'moved-2', marks: moved, batchSize: 1 });
    expect(next.counts).toMatchObject({ revisited: 2, transitions: 0, reindexed: 2 });
    const announced = ports.alerts.published.slice(before).map((a) => `${a.accountId}:${a.newState}`);
    expect(announced.sort()).toEqual(['near:WARNING', 'warned:MARGIN_CALL']);
    const quiet = await sweepMoved(ports, { runId: 'moved-3', marks: moved });
    expect(quiet.counts.revisited).toBe(0);
  });

  it('reads the status only of watched accounts and of those about to change state, as the full sweep', async () => {
    const { ports: base } = await setup([near, far, warned]);
    const statuses = new InMemoryMarginStatusStore({ watchlist: true });
    const ports = { ...base, statuses };
    await sweepSegment(ports, { runId: 'full-1', segment });
    // A small rise: near's band (OK, close to WARNING) is crossed but it stays OK; warned stays WARNING.
    statuses.reads.length = 0;
    const up = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 1.008 }) });
    expect(up.revisited).toContain('near');
    expect(up.counts.transitions).toBe(0);
    expect(statuses.reads.flat()).not.toContain('near');
    // A fall moves near out of OK: its status is read before the conditional write, and the alert goes out.
    const down = await sweepMoved(ports, { runId: 'moved-2', marks: liveMarks({ BTC: PRICE * 0.99 }) });
    expect(down.alerts.map((a) => `${a.accountId}:${a.newState}`).sort()).toEqual([
      'near:WARNING',
      'warned:MARGIN_CALL',
    ]);
    expect(statuses.reads.flat()).toContain('near');
  });

  it('escalates to a full sweep when a move crosses more bands than allowed, reading nothing', async () => {
    const { ports, store } = await setup([near, far, warned]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    const result = await sweepMoved(ports, {
      runId: 'crash',
      marks: liveMarks({ BTC: PRICE * 0.5 }),
      maxRevisits: 2,
    });
    expect(result.escalated).toBe(true);
    expect(result.counts).toMatchObject({ crossed: 3, revisited: 0 });
    expect(store.reads.getItems).toBe(0);
    expect(ports.ops.events.at(-1)).toMatchObject({ type: 'sweep.completed', counts: { escalated: 1 } });
  });

  it('refuses a bad mark rather than skip its instrument', async () => {
    const { ports } = await setup([near]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    await expect(
      sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: Number.NaN }) }),
    ).rejects.toThrow(/BTC/);
  });

  it('counts accounts the index names but the table no longer holds', async () => {
    const { ports } = await setup([near, far]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    ports.accounts = new InMemoryAccounts([far]);
    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 0.9 }) });
    expect(result.counts.missing).toBe(1);
  });

  it('answers nothing for a new threshold set: the sweep after a recalibration must be full', async () => {
    const { ports } = await setup([near]);
    await sweepSegment(ports, { runId: 'full-1', segment });
    await ports.thresholds.publishSet(
      { setId: 'set-2', runId: 'run-2', createdAt: '2026-11-25T00:00:00Z', thresholds: [btc] },
      'set-1',
    );
    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 0.5 }) });
    expect(result.setId).toBe('set-2');
    expect(result.counts.crossed).toBe(0);
  });
});
