import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import { QmtError } from '../../../lib/domain/errors.ts';
import { fakeRetryTime } from './support.ts';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'qmt-runs';
const NOW = Date.parse('2024-03-02T00:05:00Z');
const ledger = () =>
  new DynamoDbRunLedger(new DynamoDBClient({}), TABLE, {
    clock: { now: () => NOW },
    newToken: () => 'token-1',
    retryHooks: fakeRetryTime().hooks,
  });

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

beforeEach(() => {
  ddb.reset();
});

describe('DynamoDbRunLedger.acquire', () => {
  it('takes the shared lease and marks the run running, in one transaction', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    await expect(ledger().acquire('2024-03-02T00:05Z', 'lambda-1', 60_000)).resolves.toEqual({
      runId: '2024-03-02T00:05Z',
      holder: 'lambda-1',
      expiresAt: NOW + 60_000,
    });
    const input = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input;
    const [put, update] = input?.TransactItems ?? [];
    expect(put?.Put?.Item?.pk).toEqual({ S: 'LEASE#recalibration' });
    expect(put?.Put?.ConditionExpression).toBe('attribute_not_exists(#pk) OR #expiresAt <= :now');
    expect(put?.Put?.ExpressionAttributeValues).toEqual({ ':now': { N: String(NOW) } });
    expect(update?.Update?.Key).toEqual({ pk: { S: 'RUN#2024-03-02T00:05Z' } });
    expect(update?.Update?.ConditionExpression).toBe(
      'attribute_not_exists(#pk) OR #status <> :completed OR #outcome = :failed',
    );
    expect(input?.ClientRequestToken).toBe('token-1');
  });

  it('answers undefined when the lease is held or the run completed', async () => {
    ddb.on(TransactWriteItemsCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    await expect(ledger().acquire('run-1', 'lambda-2', 60_000)).resolves.toBeUndefined();
    ddb.on(TransactWriteItemsCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    await expect(ledger().acquire('run-1', 'lambda-2', 60_000)).resolves.toBeUndefined();
  });

  it('retries a transaction conflict, then reports what the retry found', async () => {
    ddb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled('TransactionConflict', 'None'))
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None'));
    await expect(ledger().acquire('run-1', 'lambda-2', 60_000)).resolves.toBeUndefined();
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 2);
  });

  it('refuses a non-positive ttl', async () => {
    await expect(ledger().acquire('run-1', 'x', 0)).rejects.toThrow(QmtError);
  });
});

describe('DynamoDbRunLedger.complete', () => {
  const lease = { runId: 'run-1', holder: 'lambda-1', expiresAt: NOW + 60_000 };

  it('records outcome and counts while the holder owns the run, then releases the lease', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    ddb.on(DeleteItemCommand).resolves({});
    await ledger().complete(lease, 'succeeded', { instruments: 12, held: 1 }, 'ok');
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: { pk: { S: 'RUN#run-1' } },
      ConditionExpression: '#holder = :holder AND #status = :running',
      ExpressionAttributeValues: expect.objectContaining({
        ':outcome': { S: 'succeeded' },
        ':counts': { M: { instruments: { N: '12' }, held: { N: '1' } } },
        ':detail': { S: 'ok' },
      }),
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      Key: { pk: { S: 'LEASE#recalibration' } },
      ConditionExpression: '#runId = :runId AND #holder = :holder',
    });
  });

  it('throws when another holder took the run over, and leaves the lease alone', async () => {
    ddb.on(UpdateItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'failed',
        $metadata: {},
        Item: { status: { S: 'running' }, holder: { S: 'lambda-2' } },
      }),
    );
    await expect(ledger().complete(lease, 'failed', {})).rejects.toThrow(
      /not held by lambda-1.*holder lambda-2/,
    );
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  it('does not mind a lease that is no longer its own to release', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    ddb
      .on(DeleteItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    await expect(ledger().complete(lease, 'skipped', {})).resolves.toBeUndefined();
  });
});
