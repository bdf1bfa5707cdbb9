/**
 * Issue 6, properties (fast-check, seeded; every counterexample replays). These extend the domain properties
 * already proven elsewhere; they are not repeated here:
 *  - test/domain/threshold/model.property.test.ts: rates rise with volatility (no previous threshold), every
 *    rate in (0, 1] and levels ordered, recalibration deterministic, brackets continuous.
 *  - test/domain/valuation/valuation.property.test.ts: requirements never negative, requirement(k·q) ≥
 *    requirement(q) for k ≥ 1, a hedge never costs more than the gross legs, offsets bounded.
 *  - test/domain/account/state-machine.test.ts: evaluateAccount never skips an announced transition.
 * This file adds the same guarantees where they matter end to end: with a previous threshold, through the
 * recalibrate and sweep use cases, for corrupted data and for absurd sizes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recalibrate as recalibrateUseCase } from '../../lib/app/recalibrate.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account, MarginAlert, MarginState } from '../../lib/domain/account/account.ts';
import { MARGIN_STATES } from '../../lib/domain/account/account.ts';
import { evaluateAccount } from '../../lib/domain/account/state-machine.ts';
import type { Candle, CandleSeries } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { recalibrate } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold, ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import { ValuationError } from '../../lib/domain/valuation/errors.ts';
import { marketSnapshotFromSet } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { scaleReturns, withRate } from '../domain/threshold/fixtures.ts';
import { thresholdFor } from '../domain/valuation/fixtures.ts';

const policy = DEFAULT_THRESHOLD_POLICY;
const RANK: Record<MarginState, number> = { OK: 0, WARNING: 1, MARGIN_CALL: 2, LIQUIDATION: 3 };

describe('thresholds: volatility, bad data, determinism', () => {
  const END = Date.UTC(2023, 7, 1);
  const market = fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    days: fc.integer({ min: 400, max: 900 }),
    annualVolatility: fc.double({ min: 0.2, max: 1.5, noNaN: true }),
  });
  const synthetic = (m: { seed: number; days: number; annualVolatility: number }) =>
    generateCandles({ instrument: 'SYN', endTime: END, startPrice: 20_000, ...m });

  it('scaling the returns by k > 1 never lowers the initial margin rate, WITH a previous threshold', () => {
    // Extends model.property.test.ts (no previous): the APC buffer, step limits and floor are all monotone.
    fc.assert(
      fc.property(
        market,
        fc.double({ min: 1.05, max: 2.5, noNaN: true }),
        fc.double({ min: 0.02, max: 0.6, noNaN: true }),
        (m, k, previousRate) => {
          // Prepare: one previous threshold, shared by both runs.
          const calm = synthetic(m);
          const base = recalibrate(policy, { ...calm, candles: calm.candles.slice(0, -1) });
          const previous = withRate(base, previousRate);

          // Act
          const a = recalibrate(policy, calm, previous);
          const b = recalibrate(policy, scaleReturns(calm, k), previous);

          // Assess
          if (b.status === 'held') {
            // Scaled data the validator refuses (say, a move now read as a spike) holds: never below previous.
            expect(b.initialMarginRate).toBe(previous.initialMarginRate);
            return;
          }
          expect(b.initialMarginRate).toBeGreaterThanOrEqual(a.initialMarginRate - 1e-15);
        },
      ),
      { numRuns: 25, seed: 6_001 },
    );
  });

  // The recalibrate use case, seeded with a computed previous set, then fed one corruption anywhere.
  const TODAY = Date.UTC(2026, 10, 24);
  const clean = generateCandles({ instrument: 'ETH', days: 1000, endTime: TODAY, startPrice: 100, seed: 2 });
  const previous = recalibrate(policy, clean, undefined, { asOf: TODAY });
  const corruptions: Record<string, (candles: Candle[], i: number) => Candle[]> = {
    nan: (cs, i) => cs.map((c, j) => (j === i ? { ...c, close: Number.NaN } : c)),
    zero: (cs, i) => cs.map((c, j) => (j === i ? { ...c, open: 0, low: 0 } : c)),
    negative: (cs, i) => cs.map((c, j) => (j === i ? { ...c, low: -c.low } : c)),
    infinite: (cs, i) => cs.map((c, j) => (j === i ? { ...c, volume: Number.POSITIVE_INFINITY } : c)),
    swapped: (cs, i) =>
      cs.map((c, j) => (j === i ? (cs[i + 1] as Candle) : j === i + 1 ? (cs[i] as Candle) : c)),
    duplicate: (cs, i) => [...cs.slice(0, i + 1), ...cs.slice(i)],
    gap: (cs, i) => [...cs.slice(0, i), ...cs.slice(i + 1)],
    spike: (cs, i) => cs.map((c, j) => (j === i ? { ...c, close: c.close * 10, high: c.close * 10 } : c)),
    empty: () => [],
  };

  it('no corruption, anywhere in the series, lowers the rate: the instrument is held at exactly the previous one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(corruptions)),
        fc.integer({ min: 1, max: 997 }),
        async (kind, index) => {
          // Prepare
          const corrupt = corruptions[kind] as (typeof corruptions)[string];
          const series: CandleSeries = { ...clean, candles: corrupt([...clean.candles], index) };
          const clock = new FixedClock(TODAY + 60_000);
          const thresholds = new InMemoryThresholdStore();
          thresholds.sets.set('run-0', {
            setId: 'run-0',
            runId: 'run-0',
            createdAt: 'x',
            thresholds: [previous],
          });
          thresholds.current = 'run-0';
          const ops = new RecordingOps();

          // Act
          const result = await recalibrateUseCase(
            {
              market: new PreparedMarket({ ETH: series }),
              thresholds,
              ledger: new InMemoryRunLedger(clock),
              ops,
              clock,
            },
            { runId: 'run-1', holder: 'p', instruments: [{ instrument: 'ETH', policy }] },
          );

          // Assess
          if (result.outcome !== 'published') throw new Error('expected a set');
          const eth = result.set.thresholds[0] as Threshold;
          expect(eth.status).toBe('held');
          expect(eth.initialMarginRate).toBe(previous.initialMarginRate);
          for (const rate of [eth.initialMarginRate, eth.maintenanceMarginRate, eth.liquidationMarginRate]) {
            expect(rate > 0 && Number.isFinite(rate)).toBe(true);
          }
          expect(eth.heldReason).toMatch(/^ETH[ :]/);
          expect(result.held).toEqual([{ instrument: 'ETH', reason: eth.heldReason }]);
        },
      ),
      { numRuns: 60, seed: 6_002 },
    );
  });

  it('the use case is deterministic: the same inputs publish the same set, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const run = async () => {
          const series = generateCandles({
            instrument: 'BTC',
            days: 800,
            endTime: TODAY,
            startPrice: 100,
            seed,
          });
          const clock = new FixedClock(TODAY + 60_000);
          const thresholds = new InMemoryThresholdStore();
          await recalibrateUseCase(
            {
              market: new PreparedMarket({ BTC: series }),
              thresholds,
              ledger: new InMemoryRunLedger(clock),
              ops: new RecordingOps(),
              clock,
            },
            { runId: 'run-1', holder: 'p', instruments: [{ instrument: 'BTC', policy }] },
          );
          return JSON.stringify(await thresholds.currentSet());
        };
        expect(await run()).toBe(await run());
      }),
      { numRuns: 8, seed: 6_003 },
    );
  });
});

describe('valuation and the state machine', () => {
  const AS_OF = Date.parse('2026-11-24T00:05:00Z');
  const SET: ThresholdSet = {
    setId: 'set-1',
    runId: 'run-1',
    createdAt: '2026-11-24T00:01:00.000Z',
    thresholds: [
      thresholdFor('BTC', { referencePrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.06 }),
      thresholdFor('ETH', { referencePrice: 4_000, initialMarginRate: 0.12, maintenanceMarginRate: 0.072 }),
    ],
  };
  const snapshot = marketSnapshotFromSet(SET);
  const context = { thresholdSetId: 'set-1', runId: 'sweep', asOf: AS_OF };

  const digits = fc
    .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 37 }))
    .map(([lead, zeros]) => `${lead}${'0'.repeat(zeros)}`);
  const position = fc.record({
    kind: fc.constantFrom('perpetual', 'option'),
    instrument: fc.constantFrom('BTC', 'ETH'),
    short: fc.boolean(),
    size: digits,
  });

  it('any decimal size up to 38 digits is valued with finite amounts or rejected with a reason, never NaN/∞', () => {
    fc.assert(
      fc.property(fc.array(position, { minLength: 1, maxLength: 4 }), (specs) => {
        const account: Account = {
          accountId: 'big',
          collateral: [{ asset: 'USDT', amount: '1000' }],
          positions: specs.map(({ kind, instrument, short, size }) => {
            const quantity = `${short ? '-' : ''}${size}`;
            return kind === 'perpetual'
              ? { kind, instrument, quantity, entryPrice: '1000', settlement: 'linear' as const }
              : {
                  kind,
                  instrument,
                  optionType: 'call' as const,
                  strike: '1000',
                  expiry: '2027-03-26T08:00:00Z',
                  quantity,
                  entryPrice: '10',
                };
          }),
        };
        try {
          const v = valueAccount(account, snapshot, AS_OF);
          for (const amount of [
            v.equity,
            v.initialRequirement,
            v.maintenanceRequirement,
            v.shortfallToInitial,
          ]) {
            expect(amount).toMatch(/^-?\d+\.\d{8}$/);
          }
          expect(Number(v.initialRequirement)).toBeGreaterThanOrEqual(0);
          if (v.ratio !== null) expect(Number.isNaN(v.ratio)).toBe(false);
        } catch (error) {
          expect(error).toBeInstanceOf(ValuationError);
          expect((error as Error).message).toMatch(
            /^account big.*: (an amount does not fit in 38 digits|amount is not a finite number)/,
          );
        }
      }),
      { numRuns: 300, seed: 6_004 },
    );
  });

  it('a bigger position (k ≥ 1, collateral fixed) never puts a first-seen account in a better state', () => {
    // requirement(k·q) ≥ requirement(q) is proven in valuation.property.test.ts; this is its consequence
    // for the state an account is announced in.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 100, max: 20_000 }),
        fc.boolean(),
        (units, k, collateral, short) => {
          const at = (quantity: number): MarginState =>
            evaluateAccount(
              {
                accountId: 'acc',
                collateral: [{ asset: 'USDT', amount: String(collateral) }],
                positions: [
                  {
                    kind: 'perpetual',
                    instrument: 'ETH',
                    quantity: `${short ? '-' : ''}${(quantity / 100).toFixed(2)}`,
                    entryPrice: '4000',
                    settlement: 'linear',
                  },
                ],
              },
              snapshot,
              undefined,
              policy.levels,
              context,
            ).state;
          expect(RANK[at(units * k)]).toBeGreaterThanOrEqual(RANK[at(units)]);
        },
      ),
      { numRuns: 200, seed: 6_005 },
    );
  });

  it('through repeated sweeps, each alert continues the last announced state with sequence + 1', async () => {
    // For any path of margin ratios per account, over many sweeps with the real sweep use case and
    // conditional status store: no transition is skipped or announced twice.
    const bare = (accountId: string): Account => ({
      accountId,
      collateral: [],
      positions: [
        { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '100000', settlement: 'linear' },
      ],
    });
    const maintenance = Number(valueAccount(bare('x'), snapshot, AS_OF).maintenanceRequirement);
    const ids = ['a', 'b', 'c'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(...ids.map(() => fc.integer({ min: 0, max: 300 }))), {
          minLength: 1,
          maxLength: 15,
        }),
        async (path) => {
          const thresholds = new InMemoryThresholdStore();
          await thresholds.publishSet(SET, undefined);
          const statuses = new InMemoryMarginStatusStore();
          const alerts = new RecordingAlerts();
          for (const [step, ratios] of path.entries()) {
            const accounts = ids.map((id, i) => ({
              ...bare(id),
              collateral: [
                { asset: 'USDT', amount: ((maintenance * (ratios[i] as number)) / 200).toFixed(2) },
              ],
            }));
            await sweepSegment(
              {
                accounts: new InMemoryAccountSource(accounts),
                thresholds,
                statuses,
                alerts,
                ops: new RecordingOps(),
                clock: new FixedClock(AS_OF + step * 60_000),
              },
              { runId: `sweep-${step}`, segment: { segment: 0, totalSegments: 1 } },
            );
          }
          for (const id of ids) {
            const mine: MarginAlert[] = alerts.published.filter((a) => a.accountId === id);
            let state: MarginState = 'OK';
            mine.forEach((alert, n) => {
              expect(alert.previousState).toBe(state);
              expect(alert.newState).not.toBe(alert.previousState);
              expect(MARGIN_STATES).toContain(alert.newState);
              expect(alert.sequence).toBe(n + 1);
              expect(alert.alertId).toBe(`${id}:${n + 1}`);
              state = alert.newState;
            });
            const stored = (await statuses.get([id])).get(id);
            expect(stored?.state ?? 'OK').toBe(state);
            expect(stored?.sequence ?? 0).toBe(mine.length);
          }
        },
      ),
      { numRuns: 30, seed: 6_006 },
    );
  });
});

// Hedges: "a hedge never costs more than the gross legs" is valuation.property.test.ts ('a hedge (long +
// short of the same instrument) never costs more than the two legs apart'); not repeated here.
