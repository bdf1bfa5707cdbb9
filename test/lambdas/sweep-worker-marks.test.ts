// The sweep worker end to end over in-memory ports: the valuation policy from the configuration document,
// and the marks' source in what the worker logs.
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { account, btc, MM, PRICE } from '../app/sweep-fixtures.ts';
import { lambdaContext, lambdaEnv, recordedObservability, sqsRecord } from './support.ts';

const NOW = Date.UTC(2026, 11, 3, 0, 5);

async function sweepOnce(document: object) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const alerts = new RecordingAlerts();
  const ops = new RecordingOps();
  const observability = recordedObservability();
  const handler = createSweepWorkerHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify(document) }),
    observability,
    adapters: {
      // 3,000 USD against one BTC: 3,000 / 1,800 = 1.67 (OK) under the default grid.
      accounts: new InMemoryAccountSource([account('acc-1', 3_000)]),
      thresholds,
      breachIndex: new InMemoryBreachIndex(),
      statuses: new InMemoryMarginStatusStore(),
      alerts,
      ops,
      clock: new FixedClock(NOW),
    },
  });
  const event: SQSEvent = { Records: [sqsRecord('m1', { runId: 'sweep-1', segment: 0, totalSegments: 1 })] };
  const response = await handler(event, lambdaContext());
  return { response, alerts, ops, observability };
}

describe('sweep worker: valuation policy and marks', () => {
  it('values with the grid the configuration document sets', async () => {
    // Prepare: SPAN's extreme scenario, 3 × the scan range at a 50% cover, needs 1.5 × the scan range:
    // 0.06 × 30,000 × 1.5 = 2,700, so 3,000 USD is a WARNING (1.11) instead of OK.
    const configured = await sweepOnce({
      instruments: { BTC: {} },
      valuation: { grid: { method: 'span', extremeMultiple: 3, extremeCover: 0.5 } },
    });
    const byDefault = await sweepOnce({ instruments: { BTC: {} } });
    // Assess
    expect(configured.response).toEqual({ batchItemFailures: [] });
    expect(configured.alerts.published).toHaveLength(1);
    expect(configured.alerts.published[0]).toMatchObject({
      accountId: 'acc-1',
      newState: 'WARNING',
      maintenanceRequirement: (MM * PRICE * 1.5).toFixed(8),
    });
    expect(byDefault.response).toEqual({ batchItemFailures: [] });
    expect(byDefault.alerts.published).toEqual([]);
  });

  it('refuses a bad valuation policy at start, naming its path', () => {
    let error: unknown;
    try {
      createSweepWorkerHandler({
        env: lambdaEnv({
          QMT_CONFIG: JSON.stringify({
            instruments: { BTC: {} },
            valuation: { grid: { method: 'span', extremeCover: 2 } },
          }),
        }),
        observability: recordedObservability(),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('valuation.grid.extremeCover');
    expect((error as Error).message).toMatch(
      /^invalid configuration in QMT_CONFIG: .*valuation\.grid\.extremeCover/,
    );
  });

  it('logs and tells ops where the marks came from: the reference closes, and when they were taken', async () => {
    const { observability, ops } = await sweepOnce({ instruments: { BTC: {} } });
    const swept = observability.logged('info').find((entry) => entry.message === 'segment swept');
    const marks = { source: 'reference-close', takenAt: new Date(NOW).toISOString(), marked: 1, held: [] };
    expect(swept?.attributes[0]).toMatchObject({ marks });
    expect(ops.events.find((e) => e.type === 'sweep.completed')).toMatchObject({ marks });
  });
});
