/** Shared fixtures for the DynamoDB adapter unit tests (and the integration tests). */
import 'aws-sdk-client-mock-vitest/extend';
import type { RetryHooks } from '../../../lib/adapters/retry.ts';
import type { MarginTransition } from '../../../lib/domain/account/account.ts';
import type { Threshold, ThresholdSet } from '../../../lib/domain/threshold/threshold.ts';

/** Retry hooks on a fake clock: sleeps advance time instantly and are recorded. */
export function fakeRetryTime(): {
  readonly hooks: RetryHooks;
  readonly waits: number[];
  advance(ms: number): void;
} {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    advance: (ms: number) => {
      t += ms;
    },
    hooks: {
      now: () => t,
      sleep: async (ms: number) => {
        waits.push(ms);
        t += ms;
      },
      random: () => 0.5,
    },
  };
}

export function sampleThreshold(instrument: string, asOf: string, initialMarginRate = 0.1): Threshold {
  return {
    instrument,
    asOf,
    referencePrice: 30_123.456_789,
    initialMarginRate,
    maintenanceMarginRate: initialMarginRate * 0.6,
    warningMarginRate: initialMarginRate * 0.6 * 1.2,
    liquidationMarginRate: initialMarginRate * 0.6 * 0.8,
    status: 'computed',
    activeBound: 'model',
    components: {
      volatility: { ewma: 0.034_567_890_123_456_78, garch: 0.1 + 0.2 },
      effectiveVolatility: 0.034_567_890_123_456_78,
      riskMultiplier: 2.526_789,
      modelRate: 1e-17 + 0.087,
      unboundedRate: 0.087_654_321,
      stressScenarios: { '2020-03-12': { long: -0.391_234_5, short: 0.123 } },
      garch: { omega: 1.234_567_890_123e-6, alpha: 0.1, beta: 0.85, negLogLik: -2345.678_901_234_5 },
    },
    brackets: [
      { notionalFloor: 0, notionalCap: 50_000, initialMarginRate, maintenanceMarginRate: 0.004, cum: 0 },
      {
        notionalFloor: 50_000,
        notionalCap: Number.MAX_SAFE_INTEGER,
        initialMarginRate: 0.02,
        maintenanceMarginRate: 0.005,
        cum: 50,
      },
    ],
    inputs: {
      policyVersion: '1',
      policyHash: 'a'.repeat(64),
      pricesHash: 'b'.repeat(64),
      source: 'test',
      firstCandle: '2023-01-01',
      lastCandle: asOf,
      candleCount: 365,
    },
  };
}

export function sampleSet(
  setId: string,
  instruments: readonly string[],
  options: { asOf?: string; createdAt?: string; previousSetId?: string; rate?: number } = {},
): ThresholdSet {
  const asOf = options.asOf ?? '2024-03-01';
  return {
    setId,
    runId: `run-${setId}`,
    createdAt: options.createdAt ?? '2024-03-02T00:05:00.000Z',
    ...(options.previousSetId !== undefined && { previousSetId: options.previousSetId }),
    thresholds: instruments.map((instrument) => sampleThreshold(instrument, asOf, options.rate)),
  };
}

export function sampleTransition(accountId: string, expectedSequence: number): MarginTransition {
  return {
    accountId,
    previousState: 'OK',
    newState: 'WARNING',
    expectedSequence,
    alert: {
      schemaVersion: '1.1',
      eventType: 'margin.state_changed',
      alertId: `${accountId}:${expectedSequence + 1}`,
      accountId,
      previousState: 'OK',
      newState: 'WARNING',
      severity: 'warning',
      sequence: expectedSequence + 1,
      equity: '1000.5',
      initialRequirement: '900',
      maintenanceRequirement: '800',
      marginRatio: '1.250625',
      shortfallToInitial: '0',
      thresholdSetId: 'set-1',
      runId: 'run-1',
      occurredAt: '2024-03-02T00:10:00.000Z',
      marks: { BTC: { price: '62000.5', at: '2024-03-02T00:10:00.000Z' } },
    },
  };
}
