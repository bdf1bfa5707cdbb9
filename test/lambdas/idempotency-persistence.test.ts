import {
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
} from '@aws-lambda-powertools/idempotency';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import './support.ts';

const dynamo = mockClient(DynamoDBClient);
const NOW = Date.parse('2026-11-24T00:05:10Z');
const event = { scheduledTime: '2026-11-24T00:05:00Z' };

function store(options: { validate?: boolean } = {}) {
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const persistence = new DynamoDbIdempotencyStore({
    client: () => client,
    tableName: 'runs',
    now: () => NOW,
  });
  persistence.configure({
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'scheduledTime',
      expiresAfterSeconds: 3_600,
      ...(options.validate ? { payloadValidationJmesPath: 'scheduledTime' } : {}),
    }),
    keyPrefix: 'qmt.test',
  });
  return persistence;
}

describe('DynamoDbIdempotencyStore', () => {
  beforeEach(() => {
    dynamo.reset();
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    return () => vi.useRealTimers();
  });

  it('takes a record with one conditional put: new, expired, or in progress past its holder’s time', async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store().saveInProgress(event, 60_000);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'runs',
      Item: {
        pk: { S: expect.stringMatching(/^IDEMPOTENCY#qmt\.test#/) },
        idempotencyKey: { S: expect.stringMatching(/^qmt\.test#/) },
        status: { S: 'INPROGRESS' },
        ttl: { N: String(Math.round(NOW / 1000) + 3_600) },
        inProgressExpiresAt: { N: String(NOW + 60_000) },
      },
      ConditionExpression:
        'attribute_not_exists(#key) OR #expiry < :now OR ' +
        '(#status = :inProgress AND attribute_exists(#inProgressExpiry) AND #inProgressExpiry < :nowMs)',
      ExpressionAttributeNames: {
        '#key': 'pk',
        '#expiry': 'ttl',
        '#status': 'status',
        '#inProgressExpiry': 'inProgressExpiresAt',
      },
      ExpressionAttributeValues: {
        ':now': { N: String(Math.floor(NOW / 1000)) },
        ':nowMs': { N: String(NOW) },
        ':inProgress': { S: 'INPROGRESS' },
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('hands Powertools the live record it found, with its stored response', async () => {
    const existing = {
      pk: { S: 'IDEMPOTENCY#qmt.test#abc' },
      idempotencyKey: { S: 'qmt.test#abc' },
      status: { S: 'COMPLETED' },
      ttl: { N: String(Math.round(NOW / 1000) + 1_000) },
      responseData: { S: JSON.stringify({ outcome: 'published', setId: 's1' }) },
    };
    dynamo
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: existing }));
    const error = await store()
      .saveInProgress(event, 60_000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    const record = (error as IdempotencyItemAlreadyExistsError).existingRecord;
    expect(record?.getStatus()).toBe('COMPLETED');
    expect(record?.getResponse()).toEqual({ outcome: 'published', setId: 's1' });
    expect(record?.idempotencyKey).toBe('qmt.test#abc');
  });

  it('passes other errors through unchanged', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    dynamo.on(PutItemCommand).rejects(throttled);
    await expect(store().saveInProgress(event, 60_000)).rejects.toBe(throttled);
  });

  it('completes a record with its response as JSON text', async () => {
    dynamo.on(UpdateItemCommand).resolves({});
    await store().saveSuccess(event, {
      outcome: 'published',
      held: [{ instrument: 'BTC', reason: 'stale' }],
    });
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'runs',
      Key: { pk: { S: expect.stringMatching(/^IDEMPOTENCY#qmt\.test#/) } },
      UpdateExpression: 'SET #status = :status, #expiry = :expiry, #data = :data',
      ExpressionAttributeNames: { '#status': 'status', '#expiry': 'ttl', '#data': 'responseData' },
      ExpressionAttributeValues: {
        ':status': { S: 'COMPLETED' },
        ':expiry': { N: String(Math.round(NOW / 1000) + 3_600) },
        ':data': { S: '{"outcome":"published","held":[{"instrument":"BTC","reason":"stale"}]}' },
      },
    });
  });

  it('stores and checks the payload hash when payload validation is on', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});
    const persistence = store({ validate: true });
    await persistence.saveInProgress(event, 60_000);
    await persistence.saveSuccess(event, { ok: true });
    const put = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
    const update = dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(put?.Item?.payloadHash?.S).toMatch(/.+/);
    expect(update?.ExpressionAttributeValues?.[':validation']).toEqual(put?.Item?.payloadHash);
  });

  it('reads a record consistently, and reports a missing one', async () => {
    dynamo
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolves({
        Item: {
          pk: { S: 'IDEMPOTENCY#qmt.test#abc' },
          idempotencyKey: { S: 'qmt.test#abc' },
          status: { S: 'INPROGRESS' },
          ttl: { N: String(Math.round(NOW / 1000) + 1_000) },
          inProgressExpiresAt: { N: String(NOW + 5_000) },
        },
      });
    const persistence = store();
    await expect(persistence.getRecord(event)).rejects.toBeInstanceOf(IdempotencyItemNotFoundError);
    const record = await persistence.getRecord(event);
    expect(record.getStatus()).toBe('INPROGRESS');
    expect(record.inProgressExpiryTimestamp).toBe(NOW + 5_000);
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'runs', ConsistentRead: true });
  });

  it('deletes a record by its key (after a failed run, so a retry runs again)', async () => {
    dynamo.on(DeleteItemCommand).resolves({});
    await store().deleteRecord(event);
    expect(dynamo).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'runs',
      Key: { pk: { S: expect.stringMatching(/^IDEMPOTENCY#qmt\.test#/) } },
    });
  });

  it('creates its client only when it first needs it', async () => {
    const client = vi.fn(() => new DynamoDBClient({ region: 'eu-west-1' }));
    const persistence = new DynamoDbIdempotencyStore({ client, tableName: 'runs' });
    persistence.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'scheduledTime' }) });
    expect(client).not.toHaveBeenCalled();
    dynamo.on(DeleteItemCommand).resolves({});
    await persistence.deleteRecord(event);
    await persistence.deleteRecord(event);
    expect(client).toHaveBeenCalledTimes(1);
  });
});
