/**
 * The alerts of a local run as the terminal shows them: most severe state first, the lowest ratio first
 * within a state, a count per state, and what the numbers mean said once.
 */
import type { MarginAlert, MarginState } from '../domain/account/account.ts';
import { alertLine } from '../domain/alert/alert-line.ts';

/** The order a liquidation desk reads alerts in. */
const SEVERITY_ORDER: readonly MarginState[] = ['LIQUIDATION', 'MARGIN_CALL', 'WARNING', 'OK'];

export const ALERT_LEGEND =
  'ratio = equity / maintenance requirement (n/a when there is none); ' +
  'shortfall = equity to add to reach the initial requirement';

/**
 * Alerts sorted by new state (LIQUIDATION, MARGIN_CALL, WARNING, OK), then ratio ascending (no ratio
 * first: nothing to cover it), then account id.
 *
 * @example
 * sortAlerts(alerts)[0]?.newState; // 'LIQUIDATION'
 */
export function sortAlerts(alerts: readonly MarginAlert[]): MarginAlert[] {
  const ratio = (a: MarginAlert) =>
    a.marginRatio === null ? Number.NEGATIVE_INFINITY : Number(a.marginRatio);
  return [...alerts].sort(
    (a, b) =>
      SEVERITY_ORDER.indexOf(a.newState) - SEVERITY_ORDER.indexOf(b.newState) ||
      ratio(a) - ratio(b) ||
      (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0),
  );
}

/**
 * The lines to print for `alerts` (none when there are none): a header with the count per new state, the
 * legend, then one line per alert in {@link sortAlerts} order.
 *
 * @example
 * formatAlertReport(alerts);
 * // ['3 alerts by new state: LIQUIDATION 1 · MARGIN_CALL 1 · WARNING 1 · OK 0', 'ratio = …', '✖ acc-1  OK → LIQUIDATION …', …]
 */
export function formatAlertReport(
  alerts: readonly MarginAlert[],
  options: { readonly color?: boolean } = {},
): string[] {
  if (alerts.length === 0) return [];
  const counts = SEVERITY_ORDER.map(
    (state) => `${state} ${alerts.filter((a) => a.newState === state).length}`,
  ).join(' · ');
  return [
    `${alerts.length} alert${alerts.length === 1 ? '' : 's'} by new state: ${counts}`,
    ALERT_LEGEND,
    ...sortAlerts(alerts).map((alert) => alertLine(alert, options)),
  ];
}
