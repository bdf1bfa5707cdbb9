/**
 * The margin period of risk as a duration: `"1h"`, `"4h"`, `"1d"`, `"2d"`. The policy stores it in days
 * (`marginPeriodOfRiskDays`), a whole number of days or, under a day, whole hours as a fraction of a day
 * (4h = 4/24), so a daily policy is the same document, and hashes the same, whichever way it was written.
 */

/** The longest MPOR the policy takes, in days (as `marginPeriodOfRiskDays` always has). */
export const MAX_MPOR_DAYS = 10;

const DURATION = /^(\d{1,3})\s*(h|d)$/i;

/**
 * A duration in days, or a reason it is not one. Hours that make whole days (`"48h"`) are days; other hours
 * must be under a day.
 *
 * @example
 * parseMarginPeriodOfRisk('4h'); // { days: 4 / 24 }
 * parseMarginPeriodOfRisk('2d'); // { days: 2 }
 */
export function parseMarginPeriodOfRisk(text: unknown): { days: number } | { reason: string } {
  const expected = 'a duration such as "1h", "4h", "1d" or "2d"';
  if (typeof text !== 'string') return { reason: `must be ${expected}` };
  const match = DURATION.exec(text.trim());
  if (!match) return { reason: `"${text}" is not ${expected}` };
  const count = Number(match[1]);
  const unit = (match[2] as string).toLowerCase();
  const hours = unit === 'h' ? count : count * 24;
  if (hours === 0) return { reason: `"${text}" is zero: a position takes time to close out` };
  if (hours % 24 !== 0 && hours > 24) {
    return { reason: `"${text}": hours must be under a day or make whole days` };
  }
  const days = hours / 24;
  if (days > MAX_MPOR_DAYS) return { reason: `"${text}" is longer than ${MAX_MPOR_DAYS} days` };
  return { days };
}

/** Whole hours of a sub-day MPOR (4 for 4/24 day); undefined for an MPOR of whole days. */
export function subDayMporHours(days: number): number | undefined {
  if (days >= 1) return undefined;
  return Math.round(days * 24);
}

/** True for a whole number of days, or for whole hours under a day (what the policy accepts). */
export function isMporDays(days: number): boolean {
  if (Number.isInteger(days)) return days >= 1 && days <= MAX_MPOR_DAYS;
  const hours = days * 24;
  return days > 0 && days < 1 && Math.abs(hours - Math.round(hours)) < 1e-9;
}

/** `"4h"` or `"2d"`: the MPOR as the risk team writes it. */
export function formatMarginPeriodOfRisk(days: number): string {
  const hours = subDayMporHours(days);
  return hours === undefined ? `${days}d` : `${hours}h`;
}
