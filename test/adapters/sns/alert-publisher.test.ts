import 'aws-sdk-client-mock-vitest/extend';
import { createHash } from 'node:crypto';
import {
  AuthorizationErrorException,
  InternalErrorException,
  InvalidParameterException,
  KMSThrottlingException,
  PublishBatchCommand,
  type PublishBatchCommandInput,
  type PublishBatchRequestEntry,
  type PublishBatchResponse,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../../lib/adapters/retry.ts';
import {
  SnsAlertPublisher,
  type SnsAlertPublisherOptions,
} from '../../../lib/adapters/sns/alert-publisher.ts';
import type { MarginAlert } from '../../../lib/domain/account/account.ts';
import { sampleAlert, sampleAlerts } from '../../domain/alert/sample-alert.ts';
import { validateMarginAlert } from '../../schemas/ajv.ts';
import { fakeTime } from './fake-time.ts';

const STANDARD_TOPIC = 'arn:aws:sns:us-east-1:123456789012:qmt-alerts';
const FIFO_TOPIC = 'arn:aws:sns:us-east-1:123456789012:qmt-alerts.fifo';
const POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2_000, deadlineMs: 10_000 };

const sns = mockClient(SNSClient);

function publisher(options: Partial<SnsAlertPublisherOptions> = {}) {
  const time = fakeTime();
  const instance = new SnsAlertPublisher({
    client: new SNSClient({}),
    topicArn: STANDARD_TOPIC,
    retryPolicy: POLICY,
    retryHooks: time.hooks,
    ...options,
  });
  return { publisher: instance, time };
}

function entriesOf(input: PublishBatchCommandInput | undefined): PublishBatchRequestEntry[] {
  return input?.PublishBatchRequestEntries ?? [];
}

function allSucceed(input: PublishBatchCommandInput): PublishBatchResponse {
  return {
    Successful: entriesOf(input).map((entry) => ({ Id: entry.Id, MessageId: `msg-${entry.Id}` })),
    Failed: [],
  };
}

/** The requests SNS received, as [alertId of each entry] per call. */
function sentAlertIds(): string[][] {
  return sns
    .commandCalls(PublishBatchCommand)
    .map((call) =>
      entriesOf(call.args[0].input).map(
        (entry) => (JSON.parse(entry.Message ?? '{}') as MarginAlert).alertId,
      ),
    );
}

const ids = (alerts: readonly MarginAlert[]) => alerts.map((alert) => alert.alertId);
const throttled = () =>
  new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });

beforeEach(() => {
  sns.reset();
});

describe('SnsAlertPublisher: batching', () => {
  it('sends 23 alerts as batches of 10, 10 and 3 and reports all published', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const alerts = sampleAlerts(23);
    const result = await publisher().publisher.publish(alerts);

    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    expect(sentAlertIds().map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(sentAlertIds().flat()).toEqual(ids(alerts));
    expect(result).toEqual({ published: ids(alerts), failed: [] });
  });

  it('uses short batch-local entry ids that SNS accepts and that map back to the alert', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    await publisher().publisher.publish(sampleAlerts(12));
    for (const call of sns.commandCalls(PublishBatchCommand)) {
      const entryIds = entriesOf(call.args[0].input).map((entry) => entry.Id ?? '');
      expect(new Set(entryIds).size).toBe(entryIds.length);
      for (const id of entryIds) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  });

  it('splits by payload size as well as by count', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const alerts = sampleAlerts(7);
    const oneMessage = JSON.stringify(alerts[0]).length + 120; // body plus attributes, roughly
    const { publisher: small } = publisher({ limits: { maxBytes: oneMessage * 3 } });
    const result = await small.publish(alerts);

    expect(sentAlertIds().map((batch) => batch.length)).toEqual([3, 3, 1]);
    expect(result.published).toEqual(ids(alerts));
  });

  it('reports an alert heavier than the limit on its own as failed and never sends it', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const light = sampleAlert({ accountId: 'a' });
    const heavy = sampleAlert({
      accountId: 'b'.repeat(128),
      runId: 'r'.repeat(256),
      thresholdSetId: 's'.repeat(256),
    });
    const limit = JSON.stringify(heavy).length; // the body alone fits; with attributes it does not
    const result = await publisher({ limits: { maxBytes: limit } }).publisher.publish([light, heavy]);

    expect(sentAlertIds()).toEqual([[light.alertId]]);
    expect(result.published).toEqual([light.alertId]);
    expect(result.failed).toEqual([
      { alertId: heavy.alertId, reason: expect.stringMatching(/over the \d+-byte SNS limit; not sent/) },
    ]);
  });

  it('never loosens the limits past SNS’s own', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    await publisher({ limits: { maxEntries: 50 } }).publisher.publish(sampleAlerts(11));
    expect(sentAlertIds().map((batch) => batch.length)).toEqual([10, 1]);
  });

  it('makes no call for no alerts', async () => {
    expect(await publisher().publisher.publish([])).toEqual({ published: [], failed: [] });
    expect(sns).not.toHaveReceivedCommand(PublishBatchCommand);
  });
});

describe('SnsAlertPublisher: message', () => {
  it('sends the alert as a body that validates against margin-alert.v1.json, with filter attributes', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const alerts = [
      sampleAlert(),
      sampleAlert({ accountId: 'acc-2', previousState: 'LIQUIDATION', newState: 'OK', marginRatio: null }),
      sampleAlert({ accountId: 'acc-3', previousState: 'OK', newState: 'WARNING', equity: '-12.5' }),
    ];
    await publisher().publisher.publish(alerts);

    const entries = sns.commandCalls(PublishBatchCommand).flatMap((call) => entriesOf(call.args[0].input));
    expect(entries).toHaveLength(3);
    entries.forEach((entry, i) => {
      const body: unknown = JSON.parse(entry.Message ?? '');
      expect(validateMarginAlert(body), JSON.stringify(validateMarginAlert.errors)).toBe(true);
      expect(body).toEqual(alerts[i]);
    });
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: STANDARD_TOPIC,
      PublishBatchRequestEntries: expect.arrayContaining([
        expect.objectContaining({
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: 'margin.state_changed' },
            severity: { DataType: 'String', StringValue: 'info' },
            accountId: { DataType: 'String', StringValue: 'acc-2' },
            newState: { DataType: 'String', StringValue: 'OK' },
          },
        }),
      ]),
    });
    expect(entries.map((entry) => entry.MessageAttributes?.severity?.StringValue)).toEqual([
      'critical',
      'info',
      'warning',
    ]);
  });

  it('does not send an invalid alert, and says why', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const good = sampleAlert({ accountId: 'good' });
    const bad = { ...sampleAlert({ accountId: 'bad' }), equity: '1e9' };
    const wrongSeverity = { ...sampleAlert({ accountId: 'sev' }), severity: 'info' as const };
    const result = await publisher().publisher.publish([good, bad, wrongSeverity]);

    expect(sentAlertIds()).toEqual([[good.alertId]]);
    expect(result.published).toEqual([good.alertId]);
    expect(result.failed).toEqual([
      { alertId: bad.alertId, reason: expect.stringMatching(/^invalid alert: equity: /) },
      {
        alertId: wrongSeverity.alertId,
        reason: expect.stringMatching(/^invalid alert: severity: must be critical/),
      },
    ]);
  });

  it('sends a repeated alertId once and reports it once', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const alert = sampleAlert();
    const result = await publisher().publisher.publish([alert, alert, { ...alert }]);
    expect(sentAlertIds()).toEqual([[alert.alertId]]);
    expect(result).toEqual({ published: [alert.alertId], failed: [] });
  });
});

describe('SnsAlertPublisher: partial batch failures', () => {
  it('re-sends only the entries SNS failed on its side, with backoff, until they succeed', async () => {
    let call = 0;
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      call++;
      const entries = entriesOf(input);
      if (call === 1) {
        const [first, second, ...rest] = entries;
        return {
          Successful: rest.map((entry) => ({ Id: entry.Id, MessageId: 'm' })),
          Failed: [first, second].map((entry) => ({
            Id: entry?.Id,
            Code: 'InternalError',
            Message: 'try again',
            SenderFault: false,
          })),
        };
      }
      return allSucceed(input);
    });
    const alerts = sampleAlerts(5);
    const { publisher: instance, time } = publisher();
    const result = await instance.publish(alerts);

    expect(sentAlertIds()).toEqual([ids(alerts), ids(alerts).slice(0, 2)]);
    expect(result).toEqual({ published: ids(alerts), failed: [] });
    expect(time.waits).toEqual([50]); // full jitter: random 0.5 × base 100
  });

  it('does not retry an entry failed by the sender, and reports SNS’s code and message', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      const [first, ...rest] = entriesOf(input);
      return {
        Successful: rest.map((entry) => ({ Id: entry.Id, MessageId: 'm' })),
        Failed: [
          { Id: first?.Id, Code: 'InvalidParameter', Message: 'Invalid attribute value', SenderFault: true },
        ],
      };
    });
    const alerts = sampleAlerts(3);
    const result = await publisher().publisher.publish(alerts);

    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
    expect(result.published).toEqual(ids(alerts).slice(1));
    expect(result.failed).toEqual([
      { alertId: alerts[0]?.alertId, reason: 'InvalidParameter: Invalid attribute value' },
    ]);
  });

  it('reports an entry that keeps failing on SNS’s side once attempts run out', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      const entries = entriesOf(input);
      return {
        Successful: entries
          .filter((entry) => entry.Id !== 'a0')
          .map((entry) => ({ Id: entry.Id, MessageId: 'm' })),
        Failed: entries
          .filter((entry) => entry.Id === 'a0')
          .map((entry) => ({ Id: entry.Id, Code: 'InternalError', Message: 'busy', SenderFault: false })),
      };
    });
    const alerts = sampleAlerts(3);
    const result = await publisher().publisher.publish(alerts);

    // Attempt 1 sends all three; each retry re-sends only the one still failing.
    expect(sentAlertIds().map((batch) => batch.length)).toEqual([3, 1, 1, 1, 1]);
    expect(result.published).toEqual(ids(alerts).slice(1));
    expect(result.failed).toEqual([
      { alertId: alerts[0]?.alertId, reason: 'InternalError: busy (after 5 attempts)' },
    ]);
  });

  it('treats an entry SNS does not mention as not yet published', async () => {
    sns.on(PublishBatchCommand).resolvesOnce({ Successful: [], Failed: [] }).callsFake(allSucceed);
    const result = await publisher().publisher.publish([sampleAlert()]);
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
    expect(result.published).toEqual([sampleAlert().alertId]);
  });
});

describe('SnsAlertPublisher: whole-call failures', () => {
  it.each([
    ['ThrottledException', throttled],
    ['KMSThrottlingException', () => new KMSThrottlingException({ message: 'slow down', $metadata: {} })],
    [
      'InternalErrorException',
      () => new InternalErrorException({ message: 'oops', $metadata: { httpStatusCode: 500 } }),
    ],
    [
      'a bare 503',
      () => Object.assign(new Error('unavailable'), { name: 'Unknown', $metadata: { httpStatusCode: 503 } }),
    ],
    ['a reset connection', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('retries a call that failed with %s', async (_label, error) => {
    sns.on(PublishBatchCommand).rejectsOnce(error()).rejectsOnce(error()).callsFake(allSucceed);
    const alerts = sampleAlerts(4);
    const { publisher: instance, time } = publisher();
    const result = await instance.publish(alerts);

    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    expect(sentAlertIds()).toEqual([ids(alerts), ids(alerts), ids(alerts)]);
    expect(result).toEqual({ published: ids(alerts), failed: [] });
    expect(time.waits).toEqual([50, 100]);
  });

  it('gives up at the deadline and reports every unpublished alert, without throwing', async () => {
    sns.on(PublishBatchCommand).rejects(throttled());
    const alerts = sampleAlerts(25);
    const policy: RetryPolicy = { maxAttempts: 100, baseDelayMs: 200, maxDelayMs: 1_000, deadlineMs: 3_000 };
    const { publisher: instance, time } = publisher({ retryPolicy: policy, concurrency: 1 });
    const result = await instance.publish(alerts);

    expect(result.published).toEqual([]);
    expect(result.failed.map((failure) => failure.alertId)).toEqual(ids(alerts));
    expect(result.failed[0]?.reason).toMatch(/^ThrottledException: Rate exceeded \(after \d+ attempts\)$/);
    expect(result.failed.at(-1)?.reason).toMatch(/ThrottledException|deadline/);
    expect(time.elapsed()).toBeLessThanOrEqual(policy.deadlineMs);
    expect(sns.commandCalls(PublishBatchCommand).length).toBeLessThan(40);
  });

  it('reports alerts of batches the deadline left no time for as not sent', async () => {
    // Every call succeeds but takes 2 s of (fake) time; the deadline allows only the first.
    const time = fakeTime();
    let now = 0;
    const hooks = { ...time.hooks, now: () => now };
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      now += 2_000;
      return allSucceed(input);
    });
    const alerts = sampleAlerts(15);
    const instance = new SnsAlertPublisher({
      client: new SNSClient({}),
      topicArn: STANDARD_TOPIC,
      retryPolicy: { ...POLICY, deadlineMs: 1_000 },
      retryHooks: hooks,
      concurrency: 1,
    });
    const result = await instance.publish(alerts);

    expect(result.published).toEqual(ids(alerts).slice(0, 10));
    expect(result.failed).toEqual(
      ids(alerts)
        .slice(10)
        .map((alertId) => ({ alertId, reason: 'not sent: the publish deadline passed first' })),
    );
  });

  it('stops after an error about the topic itself and reports the rest as not sent', async () => {
    sns
      .on(PublishBatchCommand)
      .rejects(
        new AuthorizationErrorException({ message: 'not authorized to perform SNS:Publish', $metadata: {} }),
      );
    const alerts = sampleAlerts(25);
    const result = await publisher({ concurrency: 1 }).publisher.publish(alerts);

    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
    expect(result.published).toEqual([]);
    expect(result.failed[0]?.reason).toBe(
      'AuthorizationErrorException: not authorized to perform SNS:Publish (after 1 attempt)',
    );
    expect(
      result.failed.slice(10).every((failure) => failure.reason.startsWith('not sent: AuthorizationError')),
    ).toBe(true);
  });

  it('goes on with the next batch after an error about one batch’s content', async () => {
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(new InvalidParameterException({ message: 'Invalid parameter: Message', $metadata: {} }))
      .callsFake(allSucceed);
    const alerts = sampleAlerts(15);
    const result = await publisher({ concurrency: 1 }).publisher.publish(alerts);

    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
    expect(result.published).toEqual(ids(alerts).slice(10));
    expect(result.failed.map((failure) => failure.alertId)).toEqual(ids(alerts).slice(0, 10));
  });

  it('sends batches concurrently on a standard topic and still reports in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    sns.on(PublishBatchCommand).callsFake(async (input: PublishBatchCommandInput) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return allSucceed(input);
    });
    const alerts = sampleAlerts(60);
    const result = await publisher({ concurrency: 3 }).publisher.publish(alerts);
    expect(peak).toBe(3);
    expect(result.published).toEqual(ids(alerts));
  });
});

describe('SnsAlertPublisher: FIFO topics', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('groups by account and deduplicates by a hash of the alertId, the same on every retry', async () => {
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(throttled())
      .callsFake((input: PublishBatchCommandInput) => {
        const [first, ...rest] = entriesOf(input);
        if (rest.length === 0) return allSucceed(input);
        return {
          Successful: rest.map((entry) => ({ Id: entry.Id, MessageId: 'm', SequenceNumber: '1' })),
          Failed: [{ Id: first?.Id, Code: 'InternalError', Message: 'busy', SenderFault: false }],
        };
      });
    const alerts = sampleAlerts(3);
    const result = await publisher({ topicArn: FIFO_TOPIC }).publisher.publish(alerts);
    expect(result.published).toEqual(ids(alerts));

    const calls = sns.commandCalls(PublishBatchCommand).map((call) => entriesOf(call.args[0].input));
    expect(calls.map((entries) => entries.length)).toEqual([3, 3, 1]);
    for (const entries of calls) {
      for (const entry of entries) {
        const alert = JSON.parse(entry.Message ?? '') as MarginAlert;
        expect(entry.MessageGroupId).toBe(alert.accountId);
        expect(entry.MessageDeduplicationId).toBe(sha256(alert.alertId));
        expect(entry.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    expect(calls[2]).toEqual([calls[0]?.[0]]);
  });

  it('gives a re-publish of the same transition the same deduplication id', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    const { publisher: instance } = publisher({ topicArn: FIFO_TOPIC });
    await instance.publish([sampleAlert()]);
    await instance.publish([sampleAlert()]);
    const dedupIds = sns
      .commandCalls(PublishBatchCommand)
      .map((call) => entriesOf(call.args[0].input)[0]?.MessageDeduplicationId);
    expect(dedupIds[0]).toBeDefined();
    expect(dedupIds[1]).toBe(dedupIds[0]);
  });

  it('hashes an account id SNS would refuse as a group id', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    await publisher({ topicArn: FIFO_TOPIC }).publisher.publish([sampleAlert({ accountId: 'compte n°7' })]);
    const entry = entriesOf(sns.commandCalls(PublishBatchCommand)[0]?.args[0].input)[0];
    expect(entry?.MessageGroupId).toBe(`sha256-${sha256('compte n°7')}`);
  });

  it('sends one batch at a time so an account’s alerts keep their order', async () => {
    let inFlight = 0;
    let peak = 0;
    sns.on(PublishBatchCommand).callsFake(async (input: PublishBatchCommandInput) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return allSucceed(input);
    });
    await publisher({ topicArn: FIFO_TOPIC, concurrency: 8 }).publisher.publish(sampleAlerts(40));
    expect(peak).toBe(1);
  });

  it('sets neither id on a standard topic', async () => {
    sns.on(PublishBatchCommand).callsFake(allSucceed);
    await publisher().publisher.publish(sampleAlerts(2));
    for (const entry of entriesOf(sns.commandCalls(PublishBatchCommand)[0]?.args[0].input)) {
      expect(entry).not.toHaveProperty('MessageGroupId');
      expect(entry).not.toHaveProperty('MessageDeduplicationId');
    }
  });
});
