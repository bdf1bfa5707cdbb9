/**
 * The message qmt sends to the ops topic for an `OpsEvent`: body, subject and severity. Pure, and shared
 * by the SNS ops publisher and the local outbox so both write the same document.
 */
import type { OpsEvent } from '../../ports.ts';
import { messageBytes, SNS_MAX_PAYLOAD_BYTES } from './batching.ts';

export const OPS_SCHEMA_VERSION = '1.0' as const;

export type OpsSeverity = 'info' | 'warning' | 'critical';

/** Count names in `sweep.completed` that mean something went wrong when above zero. */
const TROUBLE_COUNT = /fail|reject|error|dead|stale/i;

/**
 * How urgent an ops event is: a failed recalibration or sweep segment is critical (margins are not being updated); held
 * instruments, rejected account records and sweeps with failure counts are warnings; the rest is info.
 *
 * @example
 * opsSeverity({ type: 'recalibration.failed', runId: 'r1', reason: 'lease lost' }); // 'critical'
 */
export function opsSeverity(event: OpsEvent): OpsSeverity {
  switch (event.type) {
    case 'recalibration.failed':
    case 'sweep.failed':
      return 'critical';
    case 'recalibration.completed':
      return event.held.length > 0 ? 'warning' : 'info';
    // Margins raised between daily runs: the market moved hard, an operator should know now.
    case 'recalibration.shock':
      return 'warning';
    // The raised set stands; only its sweep waits for the coordinator's next run (minutes).
    // Queued instead: the alerts still go out, later (the queue's pollers ramp up over minutes).
    case 'sweep.targeted-fallback':
      return 'warning';
    case 'sweep.not-queued':
      return 'warning';
    case 'accounts.rejected':
      return event.rejected.length > 0 ? 'warning' : 'info';
    case 'marks.held':
      return event.held.length > 0 ? 'warning' : 'info';
    // EMIR Art. 49: a yellow or red zone calls the model into question; a backtest that did not run is a gap.
    case 'backtest.completed':
      return event.zone === 'red'
        ? 'critical'
        : event.zone !== 'green' || event.failed.length > 0 || event.notStored !== undefined
          ? 'warning'
          : 'info';
    case 'backtest.failed':
      return 'warning';
    // A new listing is held at the policy cap: worth a look, not an alarm.
    case 'instruments.listed':
      return 'info';
    // Accounts holding a delisted instrument are no longer valued: someone must act on them.
    case 'instruments.delisted':
      return event.delisted.some((d) => d.holders.length > 0) || event.holdersIncomplete !== undefined
        ? 'critical'
        : 'warning';
    case 'instruments.venues-kept':
      return 'warning';
    // A venue changed history qmt had computed from: the margins moved with it, an operator should know why.
    case 'candles.revised':
      return event.revisions.length > 0 ? 'warning' : 'info';
    // Bad debt above the insurance fund under the configured shocks: the margins do not cover the crash.
    case 'stress.completed':
      return event.exceedsInsuranceFund
        ? 'critical'
        : event.settled && event.errors === 0
          ? 'info'
          : 'warning';
    case 'sweep.completed':
      return Object.entries(event.counts).some(([name, count]) => TROUBLE_COUNT.test(name) && count > 0)
        ? 'warning'
        : 'info';
  }
}

const MAX_SUBJECT = 100;

/**
 * A short ASCII subject (SNS: at most 100 printable ASCII characters, used as the e-mail subject). The run
 * id comes last so a long one is what gets cut.
 *
 * @example
 * opsSubject({ type: 'recalibration.failed', runId: '2026-11-24T00:00Z', reason: 'x' });
 * // 'qmt recalibration FAILED (run 2026-11-24T00:00Z)'
 */
export function opsSubject(event: OpsEvent): string {
  const run = `(run ${event.runId})`;
  let text: string;
  switch (event.type) {
    case 'recalibration.completed':
      text = `qmt recalibration completed: ${event.instruments} instruments, ${event.held.length} held ${run}`;
      break;
    case 'recalibration.failed':
      text = `qmt recalibration FAILED ${run}`;
      break;
    case 'recalibration.shock':
      text = `qmt SHOCK recalibration ${event.instrument}: move ${percent(event.move)}, IM ${percent(event.from)} -> ${percent(event.to)} ${run}`;
      break;
    case 'sweep.completed':
      text = `qmt ${event.segment === undefined ? 'targeted sweep' : `sweep segment ${event.segment}`} completed ${run}`;
      break;
    case 'sweep.failed':
      text = `qmt ${event.segment === undefined ? 'targeted sweep' : `sweep segment ${event.segment}`} FAILED ${run}`;
      break;
    case 'sweep.targeted-fallback':
      text = `qmt ${event.segments} of ${event.totalSegments} targeted segments QUEUED, not invoked ${run}`;
      break;
    case 'sweep.not-queued':
      text = `qmt sweep after the shock on ${event.instruments.join(', ')} NOT QUEUED ${run}`;
      break;
    case 'stress.completed':
      text = `qmt stress ${event.exceedsInsuranceFund ? 'BAD DEBT ABOVE INSURANCE FUND' : 'completed'}: bad debt ${event.badDebt}, ${event.accountsLiquidated} liquidated ${run}`;
      break;
    case 'accounts.rejected':
      text = `qmt sweep rejected ${event.rejected.length} account records ${run}`;
      break;
    case 'instruments.listed':
      text = `qmt new instruments listed: ${event.listed.map((l) => l.instrument).join(', ')} ${run}`;
      break;
    case 'instruments.delisted':
      text = `qmt instruments DELISTED: ${event.delisted.map((d) => `${d.instrument} (${d.holders.length} holders)`).join(', ')} ${run}`;
      break;
    case 'instruments.venues-kept':
      text = `qmt instrument lists unread, previous kept: ${event.venues.map((v) => v.venue).join(', ')} ${run}`;
      break;
    case 'marks.held':
      text = `qmt live marks held ${event.held.map((h) => h.instrument).join(', ')} ${run}`;
      break;
    case 'backtest.completed':
      text = `qmt daily backtest ${event.zone.toUpperCase()}: ${event.instruments.length} instruments, ${event.failed.length} failed ${run}`;
      break;
    case 'backtest.failed':
      text = `qmt daily backtest FAILED ${run}`;
      break;
    case 'candles.revised':
      text = `qmt venues revised ${event.revisions.length} stored candles ${run}`;
      break;
  }
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > MAX_SUBJECT ? `${ascii.slice(0, MAX_SUBJECT - 3)}...` : ascii;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

export interface OpsMessage {
  readonly body: string;
  readonly subject: string;
  readonly severity: OpsSeverity;
  /** True if lists were shortened (or long texts cut) to fit SNS's 256 KiB; `omitted` in the body says how much. */
  readonly truncated: boolean;
}

/** Longest text kept from any one string field (a reason with a stack trace, say). */
const MAX_TEXT = 4_096;

function capTexts(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}...[cut]` : value;
  if (Array.isArray(value)) return value.map(capTexts);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, capTexts(inner)]));
  }
  return value;
}

/**
 * The ops message for `event`: `{ schemaVersion, type, ...event fields, publishedAt }` as JSON, only what
 * the event holds. If it would pass `maxBytes` (SNS's limit less the attributes), the longest list is
 * halved until it fits and `omitted` records how many items each list lost: an ops message that arrives
 * shortened beats one that SNS refuses.
 *
 * @example
 * opsMessage(event, '2026-11-24T00:05:00Z').body; // '{"schemaVersion":"1.0","type":"sweep.completed",...}'
 */
export function opsMessage(
  event: OpsEvent,
  publishedAt: string,
  maxBytes = SNS_MAX_PAYLOAD_BYTES,
): OpsMessage {
  const severity = opsSeverity(event);
  const attributeBytes = messageBytes('', {
    eventType: { DataType: 'String', StringValue: event.type },
    severity: { DataType: 'String', StringValue: severity },
  });
  const budget = maxBytes - attributeBytes;
  const capped = capTexts(event) as Record<string, unknown>;
  let truncated = JSON.stringify(capped) !== JSON.stringify(event);
  const fields: Record<string, unknown> = { ...capped };
  const omitted: Record<string, number> = {};
  const render = () =>
    JSON.stringify({
      schemaVersion: OPS_SCHEMA_VERSION,
      ...fields,
      ...(Object.keys(omitted).length > 0 ? { omitted } : {}),
      publishedAt,
    });

  let body = render();
  while (messageBytes(body) > budget) {
    let longest: string | undefined;
    let longestLength = 0;
    for (const [key, value] of Object.entries(fields)) {
      if (Array.isArray(value) && value.length > longestLength) {
        longest = key;
        longestLength = value.length;
      }
    }
    if (longest === undefined) break; // Nothing left to shorten; SNS will refuse it and say so.
    const list = fields[longest] as unknown[];
    const keep = Math.floor(list.length / 2);
    fields[longest] = list.slice(0, keep);
    omitted[longest] = (omitted[longest] ?? 0) + (list.length - keep);
    truncated = true;
    body = render();
  }
  return { body, subject: opsSubject(event), severity, truncated };
}
