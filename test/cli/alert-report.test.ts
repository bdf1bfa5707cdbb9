import { describe, expect, it } from 'vitest';
import { ALERT_LEGEND, formatAlertReport, sortAlerts } from '../../lib/cli/alert-report.ts';
import type { MarginState } from '../../lib/domain/account/account.ts';
import { sampleAlert } from '../domain/alert/sample-alert.ts';

function alert(accountId: string, newState: MarginState, marginRatio: string | null) {
  return sampleAlert({
    accountId,
    previousState: newState === 'OK' ? 'WARNING' : 'OK',
    newState,
    marginRatio,
  });
}

describe('the alert report of a local run', () => {
  // Scan order: as DynamoDB hands the accounts back, unrelated to urgency.
  const scanOrder = [
    alert('c', 'WARNING', '1.15'),
    alert('a', 'OK', '2.50'),
    alert('d', 'LIQUIDATION', '0.70'),
    alert('e', 'MARGIN_CALL', '0.95'),
    alert('b', 'LIQUIDATION', '0.31'),
    alert('f', 'WARNING', '1.02'),
    alert('g', 'LIQUIDATION', null),
    alert('h', 'MARGIN_CALL', '0.81'),
  ];

  it('puts the most severe state first, then the lowest ratio (no ratio first)', () => {
    expect(sortAlerts(scanOrder).map((a) => `${a.newState} ${a.accountId}`)).toEqual([
      'LIQUIDATION g',
      'LIQUIDATION b',
      'LIQUIDATION d',
      'MARGIN_CALL h',
      'MARGIN_CALL e',
      'WARNING f',
      'WARNING c',
      'OK a',
    ]);
  });

  it('counts each state and says once what ratio and shortfall mean', () => {
    const lines = formatAlertReport(scanOrder);
    expect(lines[0]).toBe('8 alerts by new state: LIQUIDATION 3 · MARGIN_CALL 2 · WARNING 2 · OK 1');
    expect(lines.filter((line) => line === ALERT_LEGEND)).toHaveLength(1);
    expect(ALERT_LEGEND).toContain('ratio = equity / maintenance requirement');
    expect(ALERT_LEGEND).toContain('shortfall = equity to add to reach the initial requirement');
    expect(lines.slice(2).map((line) => line.split('  ')[0])).toEqual([
      '✖ g',
      '✖ b',
      '✖ d',
      '✖ h',
      '✖ e',
      '⚠ f',
      '⚠ c',
      '✓ a',
    ]);
  });

  it('prints nothing when nothing was announced', () => {
    expect(formatAlertReport([])).toEqual([]);
  });
});
