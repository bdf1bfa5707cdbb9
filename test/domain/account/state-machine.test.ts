import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, MarginState, MarginStatus } from '../../../lib/domain/account/account.ts';
import { MARGIN_STATES } from '../../../lib/domain/account/account.ts';
import {
  evaluateAccount,
  type MarginLevels,
  marginStateFor,
  nextMarginState,
  ratioForState,
} from '../../../lib/domain/account/state-machine.ts';
import { marginAlertSchema } from '../../../lib/domain/alert/alert.ts';
import { AccountRecordError, PolicyError } from '../../../lib/domain/errors.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { ValuationError } from '../../../lib/domain/valuation/errors.ts';
import { AS_OF, inDays, linear, option, snapshotOf } from '../valuation/fixtures.ts';

const LEVELS: MarginLevels = { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };

describe('marginStateFor (no hysteresis)', () => {
  it.each([
    [5, 'OK'],
    [1.2, 'OK'],
    [1.19999999, 'WARNING'],
    [1, 'WARNING'],
    [0.99999999, 'MARGIN_CALL'],
    [0.8, 'MARGIN_CALL'],
    [0.79999999, 'LIQUIDATION'],
    [0, 'LIQUIDATION'],
    [-3, 'LIQUIDATION'],
    [Number.NEGATIVE_INFINITY, 'LIQUIDATION'],
    [null, 'OK'],
  ] as const)('ratio %s is %s', (ratio, state) => {
    expect(marginStateFor(ratio, LEVELS)).toBe(state);
  });

  it('reads nothing required as ∞ (null) with equity ≥ 0 and as −∞ with negative equity', () => {
    expect(ratioForState({ ratio: 1.5, equityUnits: -1 })).toBe(1.5);
    expect(ratioForState({ ratio: null, equityUnits: 0 })).toBeNull();
    expect(ratioForState({ ratio: null, equityUnits: 5 })).toBeNull();
    expect(ratioForState({ ratio: null, equityUnits: -1 })).toBe(Number.NEGATIVE_INFINITY);
    expect(ratioForState({ ratio: null, equityUnits: -(10n ** 30n) })).toBe(Number.NEGATIVE_INFINITY);
  });

  it('refuses NaN', () => {
    expect(() => marginStateFor(Number.NaN, LEVELS)).toThrow(RangeError);
  });

  it('uses the default policy levels (1.2, 1.0, 0.8, hysteresis 0.05)', () => {
    const { warning, marginCall, liquidation, hysteresis } = DEFAULT_THRESHOLD_POLICY.levels;
    expect([warning, marginCall, liquidation, hysteresis]).toEqual([1.2, 1, 0.8, 0.05]);
  });
});

describe('nextMarginState', () => {
  // Improving needs warning + h = 1.25, marginCall + h = 1.05, liquidation + h = 0.85.
  const ratios = [2, 1.22, 1.1, 1.03, 0.9, 0.83, 0.5, null] as const;
  const expected: Record<MarginState, readonly MarginState[]> = {
    OK: ['OK', 'OK', 'WARNING', 'WARNING', 'MARGIN_CALL', 'MARGIN_CALL', 'LIQUIDATION', 'OK'],
    WARNING: ['OK', 'WARNING', 'WARNING', 'WARNING', 'MARGIN_CALL', 'MARGIN_CALL', 'LIQUIDATION', 'OK'],
    MARGIN_CALL: [
      'OK',
      'WARNING',
      'WARNING',
      'MARGIN_CALL',
      'MARGIN_CALL',
      'MARGIN_CALL',
      'LIQUIDATION',
      'OK',
    ],
    LIQUIDATION: [
      'OK',
      'WARNING',
      'WARNING',
      'MARGIN_CALL',
      'MARGIN_CALL',
      'LIQUIDATION',
      'LIQUIDATION',
      'OK',
    ],
  };

  for (const previous of MARGIN_STATES) {
    it.each(ratios.map((ratio, i) => [ratio, expected[previous][i]] as const))(
      `from ${previous}: ratio %s → %s`,
      (ratio, state) => {
        expect(nextMarginState(previous, ratio, LEVELS)).toBe(state);
      },
    );
  }

  it('worsens immediately and may skip states', () => {
    expect(nextMarginState('OK', 0.79, LEVELS)).toBe('LIQUIDATION');
    expect(nextMarginState('OK', 0.95, LEVELS)).toBe('MARGIN_CALL');
    expect(nextMarginState('WARNING', 0.1, LEVELS)).toBe('LIQUIDATION');
  });

  it('improves only past the band, and several states at once when it clears each band', () => {
    expect(nextMarginState('WARNING', 1.24999999, LEVELS)).toBe('WARNING');
    expect(nextMarginState('WARNING', 1.25, LEVELS)).toBe('OK');
    expect(nextMarginState('MARGIN_CALL', 1.04999999, LEVELS)).toBe('MARGIN_CALL');
    expect(nextMarginState('MARGIN_CALL', 1.05, LEVELS)).toBe('WARNING');
    // 0.8 + 0.05 is 0.8500000000000001 in floats; the published ratio "0.85000000" still clears it.
    expect(0.8 + 0.05).toBeGreaterThan(0.85);
    expect(nextMarginState('LIQUIDATION', 0.85, LEVELS)).toBe('MARGIN_CALL');
    expect(nextMarginState('LIQUIDATION', 0.84999999, LEVELS)).toBe('LIQUIDATION');
    expect(nextMarginState('LIQUIDATION', 1.25, LEVELS)).toBe('OK');
    expect(nextMarginState('LIQUIDATION', 1.06, LEVELS)).toBe('WARNING');
  });

  it('does not flap when hovering at a level: 1.19, 1.21, 1.19, 1.21 from WARNING stays WARNING', () => {
    let state: MarginState = 'WARNING';
    const path: MarginState[] = [];
    for (const ratio of [1.19, 1.21, 1.19, 1.21, 1.19, 1.21]) {
      state = nextMarginState(state, ratio, LEVELS);
      path.push(state);
    }
    expect(path).toEqual(Array(6).fill('WARNING'));
    // Without hysteresis the same path flaps on every print.
    let flapping: MarginState = 'WARNING';
    const flaps = [1.19, 1.21, 1.19, 1.21].map(
      (ratio) => (flapping = nextMarginState(flapping, ratio, LEVELS, 0)),
    );
    expect(flaps).toEqual(['WARNING', 'OK', 'WARNING', 'OK']);
  });

  it('takes the hysteresis from the levels unless given, and treats a band wider than a gap safely', () => {
    expect(nextMarginState('WARNING', 1.22, { warning: 1.2, marginCall: 1, liquidation: 0.8 })).toBe('OK');
    expect(nextMarginState('WARNING', 1.22, LEVELS)).toBe('WARNING');
    expect(nextMarginState('WARNING', 1.22, LEVELS, 0.01)).toBe('OK');
    // A band of 0.3 is wider than marginCall − liquidation: a MARGIN_CALL account at 1.01 must not fall back.
    expect(nextMarginState('MARGIN_CALL', 1.01, LEVELS, 0.3)).toBe('MARGIN_CALL');
  });

  it('refuses levels out of order or a negative band', () => {
    expect(() => nextMarginState('OK', 1, { warning: 1, marginCall: 1.2, liquidation: 0.8 })).toThrow(
      PolicyError,
    );
    expect(() => nextMarginState('OK', 1, { warning: 1.2, marginCall: 1, liquidation: 0 })).toThrow(
      PolicyError,
    );
    expect(() => nextMarginState('OK', 1, LEVELS, -0.1)).toThrow(PolicyError);
  });
});

describe('evaluateAccount', () => {
  // 1 BTC long entered at the mark: maintenance 5,000, initial 10,000; the collateral sets the ratio.
  const snapshot = snapshotOf({
    BTC: { markPrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
  });
  const accountWith = (collateral: number, accountId = 'acc-1'): Account => ({
    accountId,
    collateral: [{ asset: 'USD', amount: collateral.toFixed(8) }],
    positions: [linear('BTC', '1', '100000')],
  });
  const context = { thresholdSetId: 'set-2026-11-24', runId: 'run-7', asOf: AS_OF };
  const status = (state: MarginState, sequence: number, accountId = 'acc-1'): MarginStatus => ({
    accountId,
    state,
    sequence,
    updatedAt: '2026-11-23T00:00:00Z',
    thresholdSetId: 'set-2026-11-23',
    runId: 'run-6',
    marginRatio: '1.30000000',
  });

  it('announces nothing for a first-seen account that is OK', () => {
    const result = evaluateAccount(accountWith(7_000), snapshot, undefined, LEVELS, context);
    expect(result.state).toBe('OK');
    expect(result.previousState).toBe('OK');
    expect(result.transition).toBeUndefined();
    expect(result.valuation.marginRatio).toBe('1.40000000');
  });

  it('announces OK → WARNING for a first-seen account in WARNING, as sequence 1', () => {
    const result = evaluateAccount(accountWith(5_500), snapshot, undefined, LEVELS, context);
    expect(result.transition).toEqual({
      accountId: 'acc-1',
      previousState: 'OK',
      newState: 'WARNING',
      expectedSequence: 0,
      alert: {
        schemaVersion: '1.1',
        eventType: 'margin.state_changed',
        alertId: 'acc-1:1',
        accountId: 'acc-1',
        previousState: 'OK',
        newState: 'WARNING',
        severity: 'warning',
        sequence: 1,
        equity: '5500.00000000',
        initialRequirement: '10000.00000000',
        maintenanceRequirement: '5000.00000000',
        marginRatio: '1.10000000',
        shortfallToInitial: '4500.00000000',
        thresholdSetId: 'set-2026-11-24',
        runId: 'run-7',
        occurredAt: '2026-11-24T00:00:00.000Z',
        // A snapshot of plain prices has no mark time: the valuation time stands in.
        marks: { BTC: { price: '100000', at: '2026-11-24T00:00:00.000Z' } },
      },
    });
    expect(() => marginAlertSchema.parse(result.transition?.alert)).not.toThrow();
  });

  it('continues the stored sequence and recovers past the band: WARNING (7) → OK (8), info', () => {
    const recovered = evaluateAccount(accountWith(6_250), snapshot, status('WARNING', 7), LEVELS, context);
    expect(recovered.transition?.expectedSequence).toBe(7);
    expect(recovered.transition?.alert.sequence).toBe(8);
    expect(recovered.transition?.alert.alertId).toBe('acc-1:8');
    expect(recovered.transition?.alert.severity).toBe('info');
    const hovering = evaluateAccount(accountWith(6_200), snapshot, status('WARNING', 7), LEVELS, context);
    expect(hovering.state).toBe('WARNING'); // ratio 1.24 < 1.25
    expect(hovering.transition).toBeUndefined();
  });

  it('skips straight to LIQUIDATION (critical) and to MARGIN_CALL (critical)', () => {
    const crash = evaluateAccount(accountWith(3_000), snapshot, status('OK', 2), LEVELS, context);
    expect(crash.transition?.newState).toBe('LIQUIDATION');
    expect(crash.transition?.alert.severity).toBe('critical');
    const call = evaluateAccount(accountWith(4_500), snapshot, status('OK', 2), LEVELS, context);
    expect(call.transition?.newState).toBe('MARGIN_CALL');
    expect(call.transition?.alert.severity).toBe('critical');
  });

  it('recovers an account without positions (no requirement: ratio null) to OK', () => {
    const flat: Account = { accountId: 'acc-1', collateral: [{ asset: 'USD', amount: '10' }], positions: [] };
    const result = evaluateAccount(flat, snapshot, status('LIQUIDATION', 4), LEVELS, context);
    expect(result.transition?.newState).toBe('OK');
    expect(result.transition?.alert.marginRatio).toBeNull();
  });

  describe('an insolvent account is in LIQUIDATION whatever its requirement', () => {
    // Long 1 BTC entered at 100k and short 1 BTC entered at 90k: they net to nothing required, and the
    // short has lost 10,000. With 4,100 of collateral equity is −5,900.
    const netted = (collateral: string): Account => ({
      accountId: 'acc-1',
      collateral: [{ asset: 'USD', amount: collateral }],
      positions: [linear('BTC', '1', '100000'), linear('BTC', '-1', '90000')],
    });
    // A short 90k call that expired yesterday, in the money at a 100k mark: settled at −10,000.
    const expiredShortCall = (collateral: string): Account => ({
      accountId: 'acc-1',
      collateral: [{ asset: 'USD', amount: collateral }],
      positions: [option('BTC', 'call', '90000', '-1', inDays(-1))],
    });

    it.each([
      ['positions netted to zero', netted],
      ['only an expired in-the-money short option left', expiredShortCall],
    ])('%s with negative equity: OK → LIQUIDATION, ratio null', (_case, build) => {
      const result = evaluateAccount(build('4100'), snapshot, undefined, LEVELS, context);
      expect(result.valuation.maintenanceRequirement).toBe('0.00000000');
      expect(result.valuation.equity).toBe('-5900.00000000');
      expect(result.state).toBe('LIQUIDATION');
      expect(result.transition?.alert).toMatchObject({
        previousState: 'OK',
        newState: 'LIQUIDATION',
        severity: 'critical',
        marginRatio: null,
        equity: '-5900.00000000',
      });
      expect(() => marginAlertSchema.parse(result.transition?.alert)).not.toThrow();
    });

    it.each([
      ['positions netted to zero', netted],
      ['only an expired in-the-money short option left', expiredShortCall],
    ])('%s with negative equity: LIQUIDATION stays LIQUIDATION, never "recovers" to OK', (_case, build) => {
      const result = evaluateAccount(build('4100'), snapshot, status('LIQUIDATION', 3), LEVELS, context);
      expect(result.state).toBe('LIQUIDATION');
      expect(result.transition).toBeUndefined();
    });

    it('nothing required and equity exactly 0 or above is OK (a LIQUIDATION account recovers)', () => {
      for (const collateral of ['10000', '10001']) {
        const first = evaluateAccount(netted(collateral), snapshot, undefined, LEVELS, context);
        expect(first.state).toBe('OK');
        expect(first.transition).toBeUndefined();
        const recovered = evaluateAccount(
          netted(collateral),
          snapshot,
          status('LIQUIDATION', 3),
          LEVELS,
          context,
        );
        expect(recovered.transition?.newState).toBe('OK');
      }
    });

    it('one minor unit below zero is already LIQUIDATION', () => {
      const result = evaluateAccount(netted('9999.99999999'), snapshot, undefined, LEVELS, context);
      expect(result.valuation.equity).toBe('-0.00000001');
      expect(result.state).toBe('LIQUIDATION');
    });
  });

  it('accepts asOf as epoch ms, ISO string or Date', () => {
    for (const asOf of [AS_OF, '2026-11-24T00:00:00Z', new Date(AS_OF)]) {
      const result = evaluateAccount(accountWith(5_500), snapshot, undefined, LEVELS, { ...context, asOf });
      expect(result.transition?.alert.occurredAt).toBe('2026-11-24T00:00:00.000Z');
    }
    expect(() =>
      evaluateAccount(accountWith(5_500), snapshot, undefined, LEVELS, { ...context, asOf: 'soon' }),
    ).toThrow(RangeError);
  });

  it('refuses a status of another account or with a bad sequence, and reports unvaluable accounts', () => {
    expect(() =>
      evaluateAccount(accountWith(5_500), snapshot, status('OK', 1, 'acc-2'), LEVELS, context),
    ).toThrow(AccountRecordError);
    expect(() => evaluateAccount(accountWith(5_500), snapshot, status('OK', -1), LEVELS, context)).toThrow(
      AccountRecordError,
    );
    const unknown: Account = { ...accountWith(1), positions: [linear('XRP', '1', '1')] };
    expect(() => evaluateAccount(unknown, snapshot, undefined, LEVELS, context)).toThrow(ValuationError);
  });

  it('never skips an announced transition: each change is sequence + 1 from the stored state (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 40 }), (path) => {
        let stored: MarginStatus | undefined;
        let state: MarginState = 'OK';
        let changes = 0;
        path.forEach((hundredths, step) => {
          const ratio = hundredths / 200; // 0 … 2 in steps of 0.005: lands on every level and band edge
          const result = evaluateAccount(accountWith(ratio * 5_000), snapshot, stored, LEVELS, {
            ...context,
            asOf: AS_OF + step * 60_000,
          });
          const expectedState = nextMarginState(state, ratio, LEVELS);
          expect(result.state).toBe(expectedState);
          if (expectedState === state) {
            expect(result.transition).toBeUndefined();
            return;
          }
          const transition = result.transition;
          expect(transition).toBeDefined();
          if (!transition) return;
          changes++;
          expect(transition.previousState).toBe(state);
          expect(transition.expectedSequence).toBe(stored?.sequence ?? 0);
          expect(transition.alert.sequence).toBe(changes);
          expect(transition.alert.alertId).toBe(`acc-1:${changes}`);
          // Apply it as the conditional write would.
          stored = {
            accountId: 'acc-1',
            state: transition.newState,
            sequence: transition.alert.sequence,
            updatedAt: transition.alert.occurredAt,
            thresholdSetId: transition.alert.thresholdSetId,
            runId: transition.alert.runId,
            marginRatio: transition.alert.marginRatio ?? '∞',
          };
          state = transition.newState;
        });
        expect(stored?.sequence ?? 0).toBe(changes);
      }),
      { numRuns: 200 },
    );
  });
});
