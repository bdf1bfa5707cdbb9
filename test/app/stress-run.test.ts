import { describe, expect, it } from 'vitest';
import {
  exceedsInsuranceFund,
  reduceStressStep,
  type StressRunPorts,
  startStressRun,
  stressSegment,
} from '../../lib/app/stress-run.ts';
import { type CascadeMarket, runCascade } from '../../lib/domain/stress/cascade.ts';
import { parseCascadePolicy } from '../../lib/domain/stress/policy.ts';
import { formatUnits, parseUnits } from '../../lib/domain/valuation/money.ts';
import type { AccountPage, ScanSegment } from '../../lib/ports.ts';
import { AS_OF, thresholdFor } from '../domain/valuation/fixtures.ts';
import { InMemoryAccountSource, RecordingOps } from './in-memory-ports.ts';
import { book, InMemoryStressReports, InMemoryStressRuns, RecordingStressQueue } from './stress-ports.ts';

const MARKET: CascadeMarket = {
  instruments: [
    {
      symbol: 'BTC',
      threshold: thresholdFor('BTC', { maintenanceMarginRate: 0.05, effectiveVolatility: 0.03 }),
      mark: 100,
      dailyVolatility: 0.03,
      averageDailyVolume: 20_000,
    },
    {
      symbol: 'ETH',
      threshold: thresholdFor('ETH', { maintenanceMarginRate: 0.08, effectiveVolatility: 0.05 }),
      mark: 10,
      dailyVolatility: 0.05,
      averageDailyVolume: 20_000,
    },
  ],
  shocks: { BTC: -0.1 },
  levels: { warning: 1.2, marginCall: 1, liquidation: 0.8 },
  policy: parseCascadePolicy({ correlations: [{ a: 'BTC', b: 'ETH', rho: 0.6 }] }),
  asOf: AS_OF,
};

function ports(accounts = new InMemoryAccountSource(book(), 1)) {
  return {
    accounts,
    runs: new InMemoryStressRuns(),
    queue: new RecordingStressQueue(),
    reports: new InMemoryStressReports(),
    ops: new RecordingOps(),
  } satisfies StressRunPorts;
}

const SETTINGS = { insuranceFund: 100 };

/** Deliver queued messages (as SQS would), redelivering a failed one; returns the failures seen. */
async function drain(p: ReturnType<typeof ports>, maxAttempts = 3): Promise<string[]> {
  const failures: string[] = [];
  const attempts = new Map<string, number>();
  for (let message = p.queue.pending.shift(); message; message = p.queue.pending.shift()) {
    const key = `${message.step}#${message.segment}`;
    try {
      await stressSegment(p, SETTINGS, message);
    } catch (error) {
      failures.push(`${key}: ${(error as Error).message}`);
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (n < maxAttempts) p.queue.pending.push(message); // back on the queue; else to the dead-letter queue
    }
  }
  return failures;
}

describe('the fanned-out stress run', () => {
  it('over 3 segments gives the one-process cascade on the same book', async () => {
    const p = ports(new InMemoryAccountSource(book(), 1));
    await startStressRun(p, { runId: 'r1', setId: 's1', totalSegments: 3, market: MARKET });
    expect(await drain(p)).toEqual([]);
    const stored = p.reports.saved.get('s1#r1');
    const alone = runCascade({ ...MARKET, accounts: book() });
    expect(alone.rounds.length).toBeGreaterThanOrEqual(3); // a real cascade, not one round
    expect(alone.badDebtUnits).not.toBe(0);
    expect(stored).toBeDefined();
    if (stored === undefined) return;
    expect(stored.rounds.map((r) => [...r.liquidatedAccounts].sort())).toEqual(
      alone.rounds.map((r) => [...r.liquidatedAccounts].sort()),
    );
    stored.rounds.forEach((round, i) => {
      const one = alone.rounds[i];
      for (const [symbol, mark] of Object.entries(round.marksAfter)) {
        // Segment sums add the same orders in another order: equal to the last bits of a double.
        expect(mark).toBeCloseTo(one?.marksAfter[symbol] as number, 10);
      }
      for (const [symbol, flow] of Object.entries(round.flows)) {
        expect(flow.sellNotional).toBeCloseTo(one?.flows[symbol]?.sellNotional as number, 8);
        expect(flow.buyNotional).toBeCloseTo(one?.flows[symbol]?.buyNotional as number, 8);
      }
    });
    expect(stored.badDebt).toBe(formatUnits(alone.badDebtUnits));
    expect(stored.contributors.map((c) => c.accountId)).toEqual(
      alone.contributors.slice(0, 20).map((c) => c.accountId),
    );
    expect(stored.accountsStressed).toBe(alone.accountsStressed);
    expect(stored.accountsLiquidated).toBe(alone.accountsLiquidated);
    expect(stored.settled).toBe(alone.settled);
    expect(stored.cascadeMultiplier.BTC).toBeCloseTo(alone.cascadeMultiplier.BTC as number, 10);
    expect(p.runs.runs.get('r1')?.phase).toBe('complete');
    const event = p.ops.events.find((e) => e.type === 'stress.completed');
    expect(event).toMatchObject({ type: 'stress.completed', badDebt: stored.badDebt, setId: 's1' });
  });

  it('retries a failing segment and never stores a report from part of the book', async () => {
    const source = new InMemoryAccountSource(book(), 1);
    let failuresLeft = 2;
    const flaky = {
      approximateCount: () => source.approximateCount(),
      scanPage: async (segment: ScanSegment, cursor?: string, size?: number): Promise<AccountPage> => {
        if (segment.segment === 1 && failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('ProvisionedThroughputExceededException');
        }
        return source.scanPage(segment, cursor, size);
      },
    };
    const p = ports(flaky as InMemoryAccountSource);
    await startStressRun(p, { runId: 'r2', setId: 's1', totalSegments: 3, market: MARKET });
    // Segments 0 and 2 report round 0; segment 1 fails: the step is not reduced, nothing is stored.
    for (let i = 0; i < 3; i += 1) {
      const message = p.queue.pending.shift();
      if (message === undefined) throw new Error('round 0 was not queued');
      await stressSegment(p, SETTINGS, message).catch(() => p.queue.pending.push(message));
    }
    expect(p.runs.runs.get('r2')?.step).toBe(0);
    await expect(reduceStressStep(p, SETTINGS, 'r2', 0)).rejects.toThrow(/segments 1 have not reported/);
    expect(p.runs.runs.get('r2')?.step).toBe(0);
    expect(p.reports.saved.size).toBe(0);
    expect(p.ops.events).toEqual([]);
    // Redelivered, it succeeds and the run finishes as the one-process cascade does.
    const failures = await drain(p);
    expect(failures).toEqual(['0#1: ProvisionedThroughputExceededException']);
    const alone = runCascade({ ...MARKET, accounts: book() });
    expect(p.reports.saved.get('s1#r2')?.badDebt).toBe(formatUnits(alone.badDebtUnits));
  });

  it('a segment that keeps failing leaves the run incomplete, with no report', async () => {
    const source = new InMemoryAccountSource(book(), 1);
    const broken = {
      approximateCount: () => source.approximateCount(),
      scanPage: async (segment: ScanSegment, cursor?: string, size?: number): Promise<AccountPage> => {
        if (segment.segment === 2) throw new Error('AccessDeniedException');
        return source.scanPage(segment, cursor, size);
      },
    };
    const p = ports(broken as InMemoryAccountSource);
    await startStressRun(p, { runId: 'r3', setId: 's1', totalSegments: 3, market: MARKET });
    const failures = await drain(p, 3);
    expect(failures).toHaveLength(3);
    expect(p.runs.runs.get('r3')?.phase).toBe('round');
    expect(p.reports.saved.size).toBe(0);
    expect(p.ops.events.filter((e) => e.type === 'stress.completed')).toEqual([]);
  });

  it('a repeated delivery records nothing twice and the report is the same', async () => {
    const p = ports();
    await startStressRun(p, { runId: 'r4', setId: 's1', totalSegments: 3, market: MARKET });
    // Every message is delivered twice (SQS is at least once).
    p.queue.pending.push(...p.queue.pending.map((m) => ({ ...m })));
    expect(await drain(p)).toEqual([]);
    const alone = runCascade({ ...MARKET, accounts: book() });
    const stored = p.reports.saved.get('s1#r4');
    expect(stored?.rounds.map((r) => r.liquidatedAccounts.length)).toEqual(
      alone.rounds.map((r) => r.liquidatedAccounts.length),
    );
    expect(stored?.badDebt).toBe(formatUnits(alone.badDebtUnits));
    expect(await startStressRun(p, { runId: 'r4', setId: 's1', totalSegments: 3, market: MARKET })).toEqual({
      started: false,
    });
  });

  it('refuses a shock on an unknown symbol before queueing anything', async () => {
    const p = ports();
    await expect(
      startStressRun(p, {
        runId: 'r5',
        setId: 's1',
        totalSegments: 3,
        market: { ...MARKET, shocks: { DOGE: -0.2 } },
      }),
    ).rejects.toThrow(/DOGE/);
    expect(p.queue.sent).toEqual([]);
    expect(p.runs.runs.size).toBe(0);
  });
});

describe('the insurance-fund alarm rule', () => {
  it('alarms only when the bad debt is strictly above the fund', () => {
    expect(exceedsInsuranceFund(parseUnits('100.00000001'), 100)).toBe(true);
    expect(exceedsInsuranceFund(parseUnits('100'), 100)).toBe(false);
    expect(exceedsInsuranceFund(0, 0)).toBe(false);
    expect(exceedsInsuranceFund(parseUnits('0.00000001'), 0)).toBe(true);
  });

  it('the run flags and publishes bad debt above the configured fund as critical', async () => {
    const p = ports();
    await startStressRun(p, { runId: 'r6', setId: 's1', totalSegments: 2, market: MARKET });
    for (let m = p.queue.pending.shift(); m; m = p.queue.pending.shift()) {
      await stressSegment(p, { insuranceFund: 1 }, m);
    }
    const stored = p.reports.saved.get('s1#r6');
    expect(stored?.exceedsInsuranceFund).toBe(true);
    expect(stored?.insuranceFund).toBe('1.00000000');
    expect(p.ops.events).toContainEqual(expect.objectContaining({ exceedsInsuranceFund: true }));
  });
});
