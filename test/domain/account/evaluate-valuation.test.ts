/**
 * `evaluateValuation` moves a valuation already made from another stored status: what the sweep does for
 * an account off the watchlist instead of valuing it twice. It must answer exactly as `evaluateAccount`
 * answers for that status.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, MarginStatus } from '../../../lib/domain/account/account.ts';
import { MARGIN_STATES } from '../../../lib/domain/account/account.ts';
import {
  evaluateAccount,
  evaluateValuation,
  type MarginLevels,
} from '../../../lib/domain/account/state-machine.ts';
import { AccountRecordError } from '../../../lib/domain/errors.ts';
import { AS_OF, linear, snapshotOf } from '../valuation/fixtures.ts';

const LEVELS: MarginLevels = { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };
const snapshot = snapshotOf({
  BTC: { markPrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
});
const context = { thresholdSetId: 'set-2026-11-24', runId: 'run-7', asOf: AS_OF };
const accountWith = (collateral: number): Account => ({
  accountId: 'acc-1',
  collateral: [{ asset: 'USD', amount: collateral.toFixed(8) }],
  positions: [linear('BTC', '1', '100000')],
});
const status = (state: MarginStatus['state'], sequence: number, accountId = 'acc-1'): MarginStatus => ({
  accountId,
  state,
  sequence,
  updatedAt: '2026-11-23T00:00:00Z',
  thresholdSetId: 'set-2026-11-23',
  runId: 'run-6',
  marginRatio: '1.30000000',
});

describe('evaluateValuation', () => {
  it('answers as evaluateAccount does for the stored status, from the valuation made against none (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12_000 }),
        fc.option(fc.tuple(fc.constantFrom(...MARGIN_STATES), fc.integer({ min: 0, max: 1_000 }))),
        (collateral, stored) => {
          const account = accountWith(collateral);
          const previous = stored === null ? undefined : status(stored[0], stored[1]);
          const guessed = evaluateAccount(account, snapshot, undefined, LEVELS, context);
          // As the sweep does: the same valuation, and the marks it was made at.
          const moved = evaluateValuation('acc-1', guessed.valuation, previous, LEVELS, {
            ...context,
            marks: guessed.marks,
          });
          expect(moved).toEqual(evaluateAccount(account, snapshot, previous, LEVELS, context));
        },
      ),
    );
  });

  it('refuses a status of another account or with a bad sequence, as evaluateAccount does', () => {
    const { valuation } = evaluateAccount(accountWith(5_500), snapshot, undefined, LEVELS, context);
    expect(() => evaluateValuation('acc-1', valuation, status('OK', 3, 'acc-2'), LEVELS, context)).toThrow(
      AccountRecordError,
    );
    expect(() => evaluateValuation('acc-1', valuation, status('OK', -1), LEVELS, context)).toThrow(
      /stored sequence -1 is not a non-negative integer/,
    );
  });
});
