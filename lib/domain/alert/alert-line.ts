/**
 * One readable terminal line per alert, for `npm start` and the local outbox. Pure: the caller writes it.
 */
import type { MarginAlert } from '../account/account.ts';
import { forTerminal } from '../text.ts';
import type { AlertSeverity } from './alert.ts';

const SYMBOL: Readonly<Record<AlertSeverity, string>> = { info: '✓', warning: '⚠', critical: '✖' };
const COLOUR: Readonly<Record<AlertSeverity, string>> = {
  info: '\u001b[32m',
  warning: '\u001b[33m',
  critical: '\u001b[1;31m',
};
const RESET = '\u001b[0m';

/**
 * Round a decimal string half away from zero to `fractionDigits` and group thousands with commas, exactly
 * (no binary floating point, so "0.125" shows as "0.13" and 38-digit amounts keep every digit).
 *
 * @example
 * formatDecimal('10400', 2); // '10,400.00'
 * formatDecimal('-1.005', 2); // '-1.01'
 */
export function formatDecimal(value: string, fractionDigits: number): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return value;
  const [, sign = '', whole = '0', fraction = ''] = match;
  const kept = fraction.padEnd(fractionDigits, '0').slice(0, fractionDigits);
  let scaled = BigInt(whole + kept);
  if ((fraction[fractionDigits] ?? '0') >= '5') scaled += 1n;
  const digits = scaled.toString().padStart(fractionDigits + 1, '0');
  const intDigits = fractionDigits > 0 ? digits.slice(0, -fractionDigits) : digits;
  const fracDigits = fractionDigits > 0 ? `.${digits.slice(-fractionDigits)}` : '';
  const grouped = intDigits.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${scaled === 0n ? '' : sign}${grouped}${fracDigits}`;
}

/**
 * The terminal line for an alert, without a trailing newline. Colour codes only when `color` is true.
 *
 * @example
 * alertLine(alert);
 * // '✖ acc-0042  WARNING → MARGIN_CALL  ratio 0.98  equity 9,800.00  shortfall 2,700.00  set 2026-11-24T00:00Z  at BTC 101,250.50'
 */
export function alertLine(alert: MarginAlert, options: { readonly color?: boolean } = {}): string {
  const ratio = alert.marginRatio === null ? 'n/a' : formatDecimal(alert.marginRatio, 2);
  const line = [
    `${SYMBOL[alert.severity]} ${forTerminal(alert.accountId)}`,
    `${alert.previousState} → ${alert.newState}`,
    `ratio ${ratio}`,
    `equity ${formatDecimal(alert.equity, 2)}`,
    `shortfall ${formatDecimal(alert.shortfallToInitial, 2)}`,
    `set ${forTerminal(alert.thresholdSetId)}`,
    ...marksPart(alert),
  ].join('  ');
  return options.color ? `${COLOUR[alert.severity]}${line}${RESET}` : line;
}

/** Marks shown on a line at most; the rest are counted. */
const MAX_MARKS_SHOWN = 3;

/** `at BTC 101,250.50 ETH 3,100.00`: the prices that valued the account (none on a 1.0 alert). */
function marksPart(alert: MarginAlert): string[] {
  const entries = Object.entries(alert.marks ?? {});
  if (entries.length === 0) return [];
  const shown = entries.slice(0, MAX_MARKS_SHOWN).map(([symbol, mark]) => {
    // Two places for most prices; a small coin keeps the digits that tell it apart (up to eight).
    const fraction = mark.price.split('.')[1]?.length ?? 0;
    return `${forTerminal(symbol)} ${formatDecimal(mark.price, Math.min(8, Math.max(2, fraction)))}`;
  });
  const more = entries.length - shown.length;
  return [`at ${shown.join(' ')}${more > 0 ? ` +${more} more` : ''}`];
}
