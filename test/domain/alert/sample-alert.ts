// Test fixtures: valid margin alerts, built through `marginAlert` so derived fields stay consistent.
import type { MarginAlert } from '../../../lib/domain/account/account.ts';
import { type MarginAlertInput, marginAlert } from '../../../lib/domain/alert/alert.ts';

export function sampleAlert(overrides: Partial<MarginAlertInput> = {}): MarginAlert {
  return marginAlert({
    accountId: 'acc-0042',
    previousState: 'WARNING',
    newState: 'MARGIN_CALL',
    sequence: 7,
    equity: '9800.00',
    initialRequirement: '12500.00',
    maintenanceRequirement: '10000.00',
    marginRatio: '0.98',
    shortfallToInitial: '2700.00',
    thresholdSetId: '2026-11-24T00:00Z',
    runId: 'sweep-2026-11-24T00:05Z',
    occurredAt: '2026-11-24T00:05:12.345Z',
    marks: { BTC: { price: '101250.5', at: '2026-11-24T00:05:00.000Z' } },
    ...overrides,
  });
}

/** `count` alerts for distinct accounts `acc-0000`, `acc-0001`, … */
export function sampleAlerts(count: number, overrides: Partial<MarginAlertInput> = {}): MarginAlert[] {
  return Array.from({ length: count }, (_, i) =>
    sampleAlert({ accountId: `acc-${String(i).padStart(4, '0')}`, ...overrides }),
  );
}
