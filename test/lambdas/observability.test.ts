/**
 * The functions' logs and metrics as Powertools writes them (real Logger and Metrics, output captured):
 * `injectLambdaContext` puts the Lambda context on every log line, `logMetrics` emits a `ColdStart` metric
 * on a container's first invocation only and flushes qmt's own metrics under the same names and dimension.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createObservability, observedHandler } from '../../lambdas/shared/observability.ts';
import { createSweepCoordinatorHandler } from '../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { FixedClock } from '../app/in-memory-ports.ts';
import { acceptAllMessages, fakeIdempotencyRecords, lambdaContext, lambdaEnv } from './support.ts';

const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

interface Emf {
  readonly _aws: {
    readonly CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
  readonly [field: string]: unknown;
}

/** Every line Powertools printed (POWERTOOLS_DEV: through the global console), parsed: EMF blobs and logs. */
function capturedOutput() {
  // POWERTOOLS_DEV (test/setup.ts) turns metrics off unless this says otherwise; read when Metrics is built.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  // What Lambda sets on an on-demand container; Powertools counts a cold start only then.
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  const lines: Record<string, unknown>[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      for (const arg of args) {
        if (typeof arg === 'string' && arg.startsWith('{')) lines.push(JSON.parse(arg));
      }
    });
  }
  const emf = () => lines.filter((line): line is Emf => '_aws' in line);
  return {
    metricNames: () =>
      emf().flatMap((blob) => blob._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name))),
    emf,
    logs: () => lines.filter((line) => !('_aws' in line)),
    clear: () => lines.splice(0),
  };
}

describe('observedHandler: Powertools injectLambdaContext and logMetrics around each function', () => {
  beforeEach(() => {
    dynamo.reset();
    sqs.reset();
    fakeIdempotencyRecords(dynamo);
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: 10 } });
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    dynamo.reset();
    sqs.reset();
  });

  it('emits ColdStart on the first invocation only, and puts each invocation’s request id on its log lines', async () => {
    // Prepare: the coordinator as deployed, with its own Logger and Metrics
    const output = capturedOutput();
    const env = lambdaEnv({ POWERTOOLS_SERVICE_NAME: 'sweep-coordinator' });
    const handler = createSweepCoordinatorHandler({
      env,
      adapters: { clock: new FixedClock(Date.parse('2026-11-24T09:30:00Z')) },
      observability: createObservability('sweep-coordinator', env),
    });

    // Act
    await handler({ scheduledTime: '2026-11-24T00:10:00Z' }, lambdaContext(600_000, 'req-first'));
    const first = { metrics: output.metricNames(), emf: output.emf(), logs: output.logs() };
    output.clear();
    await handler({ scheduledTime: '2026-11-24T00:20:00Z' }, lambdaContext(600_000, 'req-second'));
    const second = { metrics: output.metricNames(), logs: output.logs() };

    // Assess
    expect(first.metrics.filter((name) => name === 'ColdStart')).toHaveLength(1);
    expect(second.metrics).not.toContain('ColdStart');
    const coldStart = first.emf.find((blob) => 'ColdStart' in blob);
    expect(coldStart).toMatchObject({ service: 'sweep-coordinator', function_name: 'qmt-test-function' });
    // qmt's metrics keep their names, namespace and only dimension (the alarms select them by service)
    for (const metrics of [first.metrics, second.metrics]) {
      expect(metrics).toEqual(expect.arrayContaining(['SegmentsPlanned', 'DurationMs']));
    }
    const qmtBlob = first.emf.find((blob) => 'SegmentsPlanned' in blob);
    expect(qmtBlob?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'qmt', Dimensions: [['service']] });
    expect(qmtBlob).toMatchObject({ service: 'sweep-coordinator' });
    expect(first.logs.length).toBeGreaterThan(0);
    expect(second.logs.length).toBeGreaterThan(0);
    for (const line of first.logs) {
      expect(line).toMatchObject({
        function_request_id: 'req-first',
        cold_start: true,
        service: 'sweep-coordinator',
      });
    }
    for (const line of second.logs) {
      expect(line).toMatchObject({ function_request_id: 'req-second', cold_start: false });
    }
  });

  it('logs and counts a failure, flushes the metrics, and resets keys appended during the invocation', async () => {
    // Prepare
    const output = capturedOutput();
    const observability = createObservability('probe', { POWERTOOLS_METRICS_NAMESPACE: 'qmt' });
    const handler = observedHandler(observability, async (event: { fail: boolean }) => {
      observability.logger.appendKeys({ runId: 'run-1' });
      observability.logger.info('working');
      if (event.fail) throw new Error('boom');
      return 'done';
    });

    // Act
    await expect(handler({ fail: true }, lambdaContext(600_000, 'req-a'))).rejects.toThrow('boom');
    const failed = { metrics: output.metricNames(), logs: output.logs() };
    output.clear();
    observability.logger.info('between invocations');
    const between = output.logs();

    // Assess
    expect(failed.metrics).toEqual(expect.arrayContaining(['ColdStart', 'InvocationsFailed', 'DurationMs']));
    expect(failed.logs.map((line) => [line.message, line.runId, line.function_request_id])).toEqual([
      ['working', 'run-1', 'req-a'],
      ['invocation failed', 'run-1', 'req-a'],
    ]);
    expect(between[0]).not.toHaveProperty('runId');
  });
});
