/** Sweep fixtures shared by the sweep use-case tests and the DynamoDB Local sweep tests. */
import type { Account } from '../../lib/domain/account/account.ts';
import { notionalBrackets } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';

export const PRICE = 30_000;
export const IM = 0.1;
export const MM = 0.06;

/** A BTC threshold at fixed rates, with volume so large that no liquidity add-on applies. */
export const btc: Threshold = {
  instrument: 'BTC',
  asOf: '2026-11-23',
  referencePrice: PRICE,
  initialMarginRate: IM,
  maintenanceMarginRate: MM,
  warningMarginRate: MM * 1.2,
  liquidationMarginRate: MM * 0.8,
  status: 'computed',
  activeBound: 'model',
  components: {
    volatility: { ewma: 0.03 },
    effectiveVolatility: 0.03,
    riskMultiplier: 2.6,
    modelRate: IM,
    unboundedRate: IM,
  },
  brackets: notionalBrackets(DEFAULT_THRESHOLD_POLICY, IM, MM),
  liquidity: { averageDailyVolume: 1e13, participationRate: 0.1 },
  inputs: {
    policyVersion: 'test',
    policyHash: 'h',
    pricesHash: 'p',
    source: 'test',
    firstCandle: '2020-01-01',
    lastCandle: '2026-11-23',
    candleCount: 2000,
  },
};

/** One BTC perpetual at the mark (no P&L): margin ratio = collateral / (notional × MM). */
export const account = (accountId: string, collateral: number, quantity = 1): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
  positions: [
    {
      kind: 'perpetual',
      instrument: 'BTC',
      quantity: String(quantity),
      entryPrice: String(PRICE),
      settlement: 'linear',
    },
  ],
});
