import 'aws-sdk-client-mock-vitest/extend';
import {
  AuthorizationErrorException,
  PublishCommand,
  type PublishCommandInput,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../../lib/adapters/retry.ts';
import { messageBytes, SNS_MAX_PAYLOAD_BYTES } from '../../../lib/adapters/sns/batching.ts';
import { opsMessage, opsSeverity, opsSubject } from '../../../lib/adapters/sns/ops-message.ts';
import { OpsPublishError, SnsOpsPublisher } from '../../../lib/adapters/sns/ops-publisher.ts';
import type { OpsEvent } from '../../../lib/ports.ts';
import { fakeTime } from './fake-time.ts';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:qmt-ops';
const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 5_000 };

const completed: OpsEvent = {
  type: 'recalibration.completed',
  runId: '2026-11-24T00:00Z',
  setId: 'set-2026-11-24T00:00Z',
  instruments: 12,
  held: [{ instrument: 'SOL', reason: 'stale candles: last close 2026-11-21' }],
  changes: [{ instrument: 'BTC', from: 0.05, to: 0.055 }],
};
const failedRun: OpsEvent = {
  type: 'recalibration.failed',
  runId: '2026-11-24T00:00Z',
  reason: 'lease lost',
};
const shock: OpsEvent = {
  type: 'recalibration.shock',
  runId: 'shock#2026-11-24T14:00:00.000Z',
  setId: 'shock#2026-11-24T14:00:00.000Z',
  instrument: 'BTC',
  mark: 60_000,
  markAt: '2026-11-24T13:59:58.000Z',
  referencePrice: 85_714.29,
  move: -0.3,
  from: 0.1,
  to: 0.125,
  activeBound: 'step-up-limit',
  runOfDay: 1,
  maxRunsPerDay: 3,
};
const sweep = (counts: Record<string, number>): OpsEvent => ({
  type: 'sweep.completed',
  runId: 'sweep-1',
  segment: 3,
  counts,
});
const rejected = (count: number): OpsEvent => ({
  type: 'accounts.rejected',
  runId: 'sweep-1',
  rejected: Array.from({ length: count }, (_, i) => ({
    accountKey: `acc-${i}`,
    reason: 'positions[0].quantity: must not be zero',
  })),
});

describe('opsSeverity', () => {
  it.each([
    ['a failed recalibration', failedRun, 'critical'],
    ['a recalibration with held instruments', completed, 'warning'],
    ['a clean recalibration', { ...completed, held: [] }, 'info'],
    ['a shock recalibration', shock, 'warning'],
    ['rejected account records', rejected(2), 'warning'],
    ['a clean sweep', sweep({ valued: 1_000, transitions: 4 }), 'info'],
    ['a sweep with failures', sweep({ valued: 1_000, publishFailed: 2 }), 'warning'],
    ['a sweep with zero failures', sweep({ valued: 1_000, publishFailed: 0 }), 'info'],
    [
      'a failed sweep segment',
      { type: 'sweep.failed', runId: 'sweep-1', segment: 3, reason: 'table unavailable' },
      'critical',
    ],
  ] as const)('%s is %s', (_label, event, severity) => {
    expect(opsSeverity(event)).toBe(severity);
  });
});

describe('opsSubject', () => {
  it('is short, readable ASCII', () => {
    expect(opsSubject(completed)).toBe(
      'qmt recalibration completed: 12 instruments, 1 held (run 2026-11-24T00:00Z)',
    );
    expect(opsSubject(failedRun)).toBe('qmt recalibration FAILED (run 2026-11-24T00:00Z)');
    expect(opsSubject(shock)).toBe(
      'qmt SHOCK recalibration BTC: move -30.00%, IM 10.00% -> 12.50% (run shock#2026-11-24T14:00:00.000Z)',
    );
    expect(opsSubject(sweep({}))).toBe('qmt sweep segment 3 completed (run sweep-1)');
    expect(opsSubject(rejected(5))).toBe('qmt sweep rejected 5 account records (run sweep-1)');
    expect(opsSubject({ type: 'sweep.failed', runId: 'sweep-1', segment: 3, reason: 'x' })).toBe(
      'qmt sweep segment 3 FAILED (run sweep-1)',
    );
  });

  it('stays within 100 printable ASCII characters whatever the run id', () => {
    const subject = opsSubject({ ...failedRun, runId: `run-ü-\n-${'x'.repeat(200)}` });
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.endsWith('...')).toBe(true);
  });
});

describe('opsMessage', () => {
  it('is the event with a schema version and a publish time, and nothing else', () => {
    const message = opsMessage(completed, '2026-11-24T00:05:00.000Z');
    expect(JSON.parse(message.body)).toEqual({
      schemaVersion: '1.0',
      ...completed,
      publishedAt: '2026-11-24T00:05:00.000Z',
    });
    expect(message.truncated).toBe(false);
  });

  it('shortens the longest list to fit 256 KiB and says how much it left out', () => {
    const huge = rejected(20_000);
    const message = opsMessage(huge, '2026-11-24T00:05:00.000Z');
    const body = JSON.parse(message.body) as { rejected: unknown[]; omitted: { rejected: number } };
    expect(messageBytes(message.body)).toBeLessThan(SNS_MAX_PAYLOAD_BYTES);
    expect(message.truncated).toBe(true);
    expect(body.rejected.length + body.omitted.rejected).toBe(20_000);
    expect(body.rejected[0]).toEqual({
      accountKey: 'acc-0',
      reason: 'positions[0].quantity: must not be zero',
    });
  });

  it('cuts a very long text', () => {
    const message = opsMessage({ ...failedRun, reason: 'x'.repeat(100_000) }, '2026-11-24T00:05:00.000Z');
    const body = JSON.parse(message.body) as { reason: string };
    expect(body.reason.length).toBeLessThan(5_000);
    expect(message.truncated).toBe(true);
  });
});

describe('SnsOpsPublisher', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());

  function publisher(topicArn = TOPIC) {
    const time = fakeTime(Date.parse('2026-11-24T00:05:00Z'));
    return {
      time,
      publisher: new SnsOpsPublisher({
        client: new SNSClient({}),
        topicArn,
        retryPolicy: POLICY,
        retryHooks: time.hooks,
      }),
    };
  }

  it('publishes one message per event with body, subject and filter attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await publisher().publisher.publish(completed);

    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'qmt recalibration completed: 12 instruments, 1 held (run 2026-11-24T00:00Z)',
      MessageAttributes: {
        eventType: { DataType: 'String', StringValue: 'recalibration.completed' },
        severity: { DataType: 'String', StringValue: 'warning' },
      },
    });
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input as PublishCommandInput;
    expect(JSON.parse(input.Message ?? '')).toEqual({
      schemaVersion: '1.0',
      ...completed,
      publishedAt: '2026-11-24T00:05:00.000Z',
    });
    expect(input).not.toHaveProperty('MessageGroupId');
  });

  it('retries throttling with backoff', async () => {
    const throttled = new ThrottledException({ message: 'Rate exceeded', $metadata: {} });
    sns.on(PublishCommand).rejectsOnce(throttled).resolves({ MessageId: 'm-1' });
    const { publisher: instance, time } = publisher();
    await instance.publish(failedRun);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(time.waits).toEqual([50]);
  });

  it('throws OpsPublishError once retries run out, naming the event but not its body', async () => {
    sns.on(PublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    const error = await publisher()
      .publisher.publish(rejected(3))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpsPublishError);
    expect((error as OpsPublishError).eventType).toBe('accounts.rejected');
    expect((error as Error).message).toBe(
      'could not publish accounts.rejected for run sweep-1: ThrottledException: Rate exceeded',
    );
    expect((error as Error).message).not.toContain('acc-0');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, POLICY.maxAttempts);
  });

  it('does not retry a final error', async () => {
    sns.on(PublishCommand).rejects(new AuthorizationErrorException({ message: 'denied', $metadata: {} }));
    await expect(publisher().publisher.publish(failedRun)).rejects.toThrow(OpsPublishError);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('sets a group and an event-derived deduplication id on a FIFO topic', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const fifo = `${TOPIC}.fifo`;
    await publisher(fifo).publisher.publish(failedRun);
    await publisher(fifo).publisher.publish(failedRun);
    const inputs = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(inputs[0]?.MessageGroupId).toBe('qmt-ops');
    expect(inputs[0]?.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(inputs[1]?.MessageDeduplicationId).toBe(inputs[0]?.MessageDeduplicationId);
  });
});
