/**
 * A Powertools idempotency persistence layer on plain `@aws-sdk/client-dynamodb`. Powertools' own
 * `DynamoDBPersistenceLayer` needs `@aws-sdk/util-dynamodb`, which ships on another version line than the
 * client qmt uses; this one marshals its few attributes by hand.
 *
 * By default the records live in the runs table, beside the run records and the lease, under their own
 * key prefix, and expire through the table's TTL attribute:
 *
 * - `IDEMPOTENCY#<function key>#<hash>`: idempotencyKey, status (`INPROGRESS` | `COMPLETED`),
 *   ttl (record expiry, epoch s), inProgressExpiresAt (epoch ms), responseData (JSON text), payloadHash
 */

import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { getNumber, getString, type Item, num, str } from '../dynamodb/attributes.ts';

type RecordStatus = ReturnType<IdempotencyRecord['getStatus']>;
type ResponseData = IdempotencyRecord['responseData'];

export interface DynamoDbIdempotencyStoreOptions {
  /** The client, or a function that returns it, so a handler module can build the store before any client. */
  readonly client: DynamoDBClient | (() => DynamoDBClient);
  readonly tableName: string;
  /** The table's partition key (string). @default 'pk' (the runs table) */
  readonly keyAttribute?: string;
  /** Put before Powertools' key, so idempotency records stand apart in a shared table. @default 'IDEMPOTENCY#' */
  readonly keyPrefix?: string;
  /** Record expiry in epoch seconds: make it the table's TTL attribute. @default 'ttl' (the runs table's) */
  readonly expiryAttribute?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Attribute names besides the key and expiry. `status` and `data` are DynamoDB reserved words: always `#`-named. */
const ATTRIBUTE = {
  idempotencyKey: 'idempotencyKey',
  status: 'status',
  inProgressExpiry: 'inProgressExpiresAt',
  data: 'responseData',
  validation: 'payloadHash',
} as const;

/** IAM actions this adapter sends to the table holding the idempotency records (the runs table). */
export const IDEMPOTENCY_STORE_IAM_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/**
 * `BasePersistenceLayer` over DynamoDB. A record is taken with one conditional PutItem that succeeds only
 * when no record exists, the record expired, or it is in progress and its holder's time ran out; otherwise
 * Powertools receives the existing record and returns its stored response (or reports it in progress).
 *
 * @example
 * const persistenceStore = new DynamoDbIdempotencyStore({ client: () => sharedDynamoDbClient(), tableName: tables.runs });
 * export const handler = makeIdempotent(run, { persistenceStore, config: new IdempotencyConfig({ eventKeyJmesPath: 'scheduledTime' }) });
 */
export class DynamoDbIdempotencyStore extends BasePersistenceLayer {
  private readonly keyAttribute: string;
  private readonly recordKeyPrefix: string;
  private readonly expiryAttribute: string;
  private readonly now: () => number;
  private resolvedClient: DynamoDBClient | undefined;

  constructor(private readonly options: DynamoDbIdempotencyStoreOptions) {
    super();
    this.keyAttribute = options.keyAttribute ?? 'pk';
    this.recordKeyPrefix = options.keyPrefix ?? 'IDEMPOTENCY#';
    this.expiryAttribute = options.expiryAttribute ?? 'ttl';
    this.now = options.now ?? Date.now;
  }

  protected override async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const out = await this.client().send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: this.key(idempotencyKey),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) throw new IdempotencyItemNotFoundError();
    return this.recordFrom(out.Item, idempotencyKey);
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    const item: Item = {
      ...this.key(record.idempotencyKey),
      [ATTRIBUTE.idempotencyKey]: str(record.idempotencyKey),
      [ATTRIBUTE.status]: str(record.getStatus()),
      ...(record.expiryTimestamp !== undefined && { [this.expiryAttribute]: num(record.expiryTimestamp) }),
      ...(record.inProgressExpiryTimestamp !== undefined && {
        [ATTRIBUTE.inProgressExpiry]: num(record.inProgressExpiryTimestamp),
      }),
      ...(this.isPayloadValidationEnabled() &&
        record.payloadHash !== undefined && { [ATTRIBUTE.validation]: str(record.payloadHash) }),
    };
    const now = this.now();
    try {
      await this.client().send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: item,
          // First use of the key; or the record expired (TTL deletes lazily, so check it here); or its
          // holder is still marked in progress but ran out of time (the Lambda timed out mid-run).
          ConditionExpression:
            'attribute_not_exists(#key) OR #expiry < :now OR ' +
            '(#status = :inProgress AND attribute_exists(#inProgressExpiry) AND #inProgressExpiry < :nowMs)',
          ExpressionAttributeNames: {
            '#key': this.keyAttribute,
            '#expiry': this.expiryAttribute,
            '#status': ATTRIBUTE.status,
            '#inProgressExpiry': ATTRIBUTE.inProgressExpiry,
          },
          ExpressionAttributeValues: {
            ':now': num(Math.floor(now / 1000)),
            ':nowMs': num(now),
            ':inProgress': str(IdempotencyRecordStatus.INPROGRESS),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new IdempotencyItemAlreadyExistsError(
        `an idempotency record already exists for key ${record.idempotencyKey}`,
        error.Item ? this.recordFrom(error.Item, record.idempotencyKey) : undefined,
      );
    }
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const names: Record<string, string> = { '#status': ATTRIBUTE.status };
    const values: Item = { ':status': str(record.getStatus()) };
    const sets = ['#status = :status'];
    if (record.expiryTimestamp !== undefined) {
      names['#expiry'] = this.expiryAttribute;
      values[':expiry'] = num(record.expiryTimestamp);
      sets.push('#expiry = :expiry');
    }
    if (record.responseData !== undefined) {
      names['#data'] = ATTRIBUTE.data;
      values[':data'] = str(JSON.stringify(record.responseData));
      sets.push('#data = :data');
    }
    if (this.isPayloadValidationEnabled() && record.payloadHash !== undefined) {
      names['#validation'] = ATTRIBUTE.validation;
      values[':validation'] = str(record.payloadHash);
      sets.push('#validation = :validation');
    }
    await this.client().send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: this.key(record.idempotencyKey),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    await this.client().send(
      new DeleteItemCommand({ TableName: this.options.tableName, Key: this.key(record.idempotencyKey) }),
    );
  }

  private client(): DynamoDBClient {
    const { client } = this.options;
    this.resolvedClient ??= typeof client === 'function' ? client() : client;
    return this.resolvedClient;
  }

  private key(idempotencyKey: string): Item {
    return { [this.keyAttribute]: str(`${this.recordKeyPrefix}${idempotencyKey}`) };
  }

  private recordFrom(item: Item, idempotencyKey: string): IdempotencyRecord {
    const status = getString(item, ATTRIBUTE.status);
    const expiryTimestamp = getNumber(item, this.expiryAttribute);
    const inProgressExpiryTimestamp = getNumber(item, ATTRIBUTE.inProgressExpiry);
    const data = getString(item, ATTRIBUTE.data);
    const payloadHash = getString(item, ATTRIBUTE.validation);
    return new IdempotencyRecord({
      idempotencyKey: getString(item, ATTRIBUTE.idempotencyKey) ?? idempotencyKey,
      // An unknown status is passed through as is: IdempotencyRecord.getStatus() reports it as invalid.
      status: (status ?? 'missing') as RecordStatus,
      ...(expiryTimestamp === undefined ? {} : { expiryTimestamp }),
      ...(inProgressExpiryTimestamp === undefined ? {} : { inProgressExpiryTimestamp }),
      ...(data === undefined ? {} : { responseData: JSON.parse(data) as ResponseData }),
      ...(payloadHash === undefined ? {} : { payloadHash }),
    });
  }
}
