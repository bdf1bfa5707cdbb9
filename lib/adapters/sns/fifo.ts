/**
 * FIFO topic fields. SNS FIFO topics need a MessageGroupId on every message (order is kept per group) and,
 * unless content-based deduplication is on, a MessageDeduplicationId (a repeat within five minutes is
 * accepted but not delivered).
 */
import { createHash } from 'node:crypto';

/** A FIFO topic's name, and so its ARN, ends in `.fifo`. */
export function isFifoTopic(topicArn: string): boolean {
  return topicArn.endsWith('.fifo');
}

/** What SNS accepts in both ids: 1 to 128 of a-z, A-Z, 0-9 and ASCII punctuation. */
const FIFO_ID = /^[!-~]{1,128}$/;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The message group for `key` (the account id for alerts): the key itself when SNS accepts it, so
 * subscribers see a readable group, else `sha256-` and its hash (same key → same group, order kept).
 *
 * @example
 * messageGroupIdFor('acc-0042'); // 'acc-0042'
 * messageGroupIdFor('compte n°7'); // 'sha256-…' (space and ° are not allowed)
 */
export function messageGroupIdFor(key: string): string {
  return FIFO_ID.test(key) ? key : `sha256-${sha256Hex(key)}`;
}

/**
 * The deduplication id for `key` (the alertId for alerts): its SHA-256 in hex, 64 characters, whatever the
 * key's length or characters. A re-send of the same key is dropped by SNS within the dedup interval.
 *
 * @example
 * deduplicationIdFor('acc-0042:7').length; // 64
 */
export function deduplicationIdFor(key: string): string {
  return sha256Hex(key);
}
