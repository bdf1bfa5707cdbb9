import { describe, expect, it } from 'vitest';
import { MARGIN_STATES, type MarginState } from '../../../lib/domain/account/account.ts';
import {
  alertAttributes,
  alertIdFor,
  marginAlertSchema,
  parsePublishableAlert,
  severityOf,
} from '../../../lib/domain/alert/alert.ts';
import { alertLine, formatDecimal } from '../../../lib/domain/alert/alert-line.ts';
import { sampleAlert } from './sample-alert.ts';

describe('severityOf', () => {
  it.each([
    ['WARNING', 'OK', 'info'],
    ['LIQUIDATION', 'OK', 'info'],
    ['OK', 'WARNING', 'warning'],
    ['MARGIN_CALL', 'WARNING', 'warning'],
    ['WARNING', 'MARGIN_CALL', 'critical'],
    ['LIQUIDATION', 'MARGIN_CALL', 'critical'],
    ['MARGIN_CALL', 'LIQUIDATION', 'critical'],
    ['OK', 'LIQUIDATION', 'critical'],
  ] as const)('%s → %s is %s (follows the new state, not the direction)', (previous, next, severity) => {
    expect(severityOf(next, previous)).toBe(severity);
  });

  it('refuses a non-change: there is no alert then', () => {
    for (const state of MARGIN_STATES) expect(() => severityOf(state, state)).toThrow(RangeError);
  });
});

describe('alertIdFor', () => {
  it('is deterministic and readable', () => {
    expect(alertIdFor('acc-0042', 7)).toBe('acc-0042:7');
    expect(alertIdFor('acc-0042', 7)).toBe(alertIdFor('acc-0042', 7));
    expect(alertIdFor('acc-0042', 8)).not.toBe(alertIdFor('acc-0042', 7));
  });

  it('rejects an empty account or a sequence that is not a positive integer', () => {
    expect(() => alertIdFor('', 1)).toThrow(RangeError);
    for (const sequence of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => alertIdFor('acc', sequence)).toThrow(RangeError);
    }
  });

  it('fits the schema for the longest account id', () => {
    const alert = sampleAlert({ accountId: 'a'.repeat(128), sequence: Number.MAX_SAFE_INTEGER });
    expect(alert.alertId).toHaveLength(128 + 1 + 16);
  });
});

describe('alertAttributes', () => {
  it('carries eventType, severity, accountId and newState as String attributes', () => {
    expect(alertAttributes(sampleAlert())).toEqual({
      eventType: { DataType: 'String', StringValue: 'margin.state_changed' },
      severity: { DataType: 'String', StringValue: 'critical' },
      accountId: { DataType: 'String', StringValue: 'acc-0042' },
      newState: { DataType: 'String', StringValue: 'MARGIN_CALL' },
    });
  });
});

describe('marginAlert', () => {
  it('fills the constants, id and severity', () => {
    const alert = sampleAlert({ previousState: 'MARGIN_CALL', newState: 'OK', sequence: 9 });
    expect(alert).toMatchObject({
      schemaVersion: '1.1',
      eventType: 'margin.state_changed',
      alertId: 'acc-0042:9',
      severity: 'info',
    });
  });

  it('rejects bad input', () => {
    expect(() => sampleAlert({ equity: '1e5' })).toThrow();
    expect(() => sampleAlert({ occurredAt: '2026-02-30T00:00:00Z' })).toThrow();
  });
});

describe('marginAlertSchema cross-field rules', () => {
  it('rejects a severity that does not follow the new state', () => {
    const result = marginAlertSchema.safeParse({ ...sampleAlert(), severity: 'warning' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['severity']);
  });

  it('rejects an alert whose state did not change', () => {
    const state: MarginState = 'MARGIN_CALL';
    const result = marginAlertSchema.safeParse({ ...sampleAlert(), previousState: state, newState: state });
    expect(result.success).toBe(false);
  });

  it('accepts a null ratio (no maintenance requirement)', () => {
    const alert = sampleAlert({ maintenanceRequirement: '0', marginRatio: null, newState: 'OK' });
    expect(marginAlertSchema.safeParse(alert).success).toBe(true);
  });
});

describe('formatDecimal', () => {
  it.each([
    ['10400', 2, '10,400.00'],
    ['2100.5', 2, '2,100.50'],
    ['1.035', 2, '1.04'],
    ['1.0349', 2, '1.03'],
    ['0.125', 2, '0.13'],
    ['-1.005', 2, '-1.01'],
    ['-0.001', 2, '0.00'],
    ['999.995', 2, '1,000.00'],
    ['1234567890123456789012345678901234.5678', 2, '1,234,567,890,123,456,789,012,345,678,901,234.57'],
    ['12.5', 0, '13'],
    ['not a number', 2, 'not a number'],
  ] as const)('%s to %i places is %s', (value, digits, expected) => {
    expect(formatDecimal(value, digits)).toBe(expected);
  });
});

describe('alertLine', () => {
  it('reads like a risk dashboard row', () => {
    expect(alertLine(sampleAlert())).toBe(
      '✖ acc-0042  WARNING → MARGIN_CALL  ratio 0.98  equity 9,800.00  shortfall 2,700.00  set 2026-11-24T00:00Z  at BTC 101,250.50',
    );
  });

  it('shows the marks that valued the account, a small coin with its digits, three at most', () => {
    const at = '2026-11-24T00:05:00.000Z';
    const line = alertLine(
      sampleAlert({
        marks: {
          BTC: { price: '101250.5', at },
          DOGE: { price: '0.0812345', at },
          ETH: { price: '3100', at },
          SOL: { price: '150.25', at },
        },
      }),
    );
    expect(line.endsWith('  at BTC 101,250.50 DOGE 0.0812345 ETH 3,100.00 +1 more')).toBe(true);
    expect(alertLine(sampleAlert({ marks: {} }))).not.toContain('  at ');
  });

  it('shows n/a for an undefined ratio and a warning symbol', () => {
    const line = alertLine(
      sampleAlert({
        previousState: 'OK',
        newState: 'WARNING',
        marginRatio: null,
        maintenanceRequirement: '0',
      }),
    );
    expect(line).toMatch(/^⚠ acc-0042 {2}OK → WARNING {2}ratio n\/a {2}/);
  });

  it('adds colour only when asked', () => {
    expect(alertLine(sampleAlert())).not.toContain('\u001b');
    const coloured = alertLine(sampleAlert(), { color: true });
    expect(coloured.startsWith('\u001b[1;31m')).toBe(true);
    expect(coloured.endsWith('\u001b[0m')).toBe(true);
  });

  it('never passes control characters from ids to the terminal', () => {
    const line = alertLine(sampleAlert({ accountId: 'acc\u001b[2Jx\u202e', thresholdSetId: 'set\n1' }));
    expect([...line].filter((char) => char.charCodeAt(0) < 0x20 || char === '\u202e')).toEqual([]);
    // Shown as visible escapes, so two ids that differ only in a control character stay apart.
    expect(line).toContain('acc\\u001b[2Jx\\u202e');
    expect(line).toContain('set set\\u000a1');
  });
});

describe('parsePublishableAlert', () => {
  it('checks a 1.1 alert against 1.1: marks are required', () => {
    const { marks: _marks, ...withoutMarks } = sampleAlert();
    expect(parsePublishableAlert(sampleAlert()).success).toBe(true);
    const parsed = parsePublishableAlert(withoutMarks);
    expect(parsed.success).toBe(false);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual(['marks']);
  });

  it('lets a pending 1.0 alert stored before 1.1 go out unchanged, and only a sound one', () => {
    const { marks: _marks, ...fields } = sampleAlert();
    const stored = { ...fields, schemaVersion: '1.0' };
    const parsed = parsePublishableAlert(stored);
    expect(parsed.success && parsed.data).toEqual(stored);
    // A 1.0 document with 1.1's field is neither version.
    expect(parsePublishableAlert({ ...sampleAlert(), schemaVersion: '1.0' }).success).toBe(false);
    expect(parsePublishableAlert({ ...stored, severity: 'info' }).success).toBe(false);
  });
});
