/**
 * The fanned-out stress run's state in DynamoDB (`lib/app/stress-run.ts`), and its report stored with the
 * threshold set it stressed.
 *
 * Items (table `runs`, key `pk`), bodies as JSON (bigint minor units as `{ "units": "<digits>" }`):
 * - `STRESS#<runId>`: the run (step, phase, marks, rounds so far…), `step` also as a number for the
 *   conditional advance: each step is reduced once. It holds each round's count, not its ids.
 * - `STRESS#<runId>#STEP#<step>#SEG#<segment>`: one segment's result for one step (its liquidated ids),
 *   written once.
 * - `STRESS#<runId>#STEP#<step>`: `reported`, the number set of segments that have written their result
 *   (ADD is idempotent, so a repeated delivery counts once).
 *
 * Reports (table `thresholds`, keys `pk`/`sk`): `SET#<setId>` / `STRESS#<runId>`, the report as JSON.
 *
 * A body past `INLINE_BODY_BYTES` (a segment of a large book liquidates more ids than a 400 KB item holds)
 * is cut into parts, each its own item keyed `<key>#PART#<hash>#<i>`, written before the item that names
 * them (`parts`, `partsHash`): a reader that sees the item finds every part. The hash is of the whole
 * body, so a repeated or competing write never overwrites the parts another item names with other text.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  StoredStressReport,
  StressReportStore,
  StressRunState,
  StressRunStore,
  StressSegmentResult,
} from '../../ports.ts';
import { attributeNames, type Item, num, requireNumber, requireString, str } from './attributes.ts';
import { bodyHash, bodyParts, INLINE_BODY_BYTES } from './body-parts.ts';
import { utf8Bytes } from './limits.ts';

/** IAM actions on the runs table: the run, its segments' results and their parts (reads are consistent). */
export const STRESS_RUN_STORE_IAM_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/** IAM actions on the thresholds table: the stress run saves its report; the CLI (or an auditor) loads it. */
export const STRESS_REPORT_STORE_IAM_ACTIONS = {
  save: ['dynamodb:PutItem'],
  load: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
} as const;

/** How a body is stored: in its item, or as parts (each item the caller writes, keyed by `partKey`). */
function storedBody(
  body: string,
  attribute: string,
  partKey: (hash: string, index: number) => Item,
): { fields: Item; parts: Item[] } {
  if (utf8Bytes(body) <= INLINE_BODY_BYTES) return { fields: { [attribute]: str(body) }, parts: [] };
  const hash = bodyHash(body);
  const parts = bodyParts(body).map((text, i) => ({ ...partKey(hash, i), part: str(text) }));
  return { fields: { parts: num(parts.length), partsHash: str(hash) }, parts };
}

/** Consistent BatchGetItem of `keys` (100 a call), unprocessed keys asked again; items in no set order. */
async function batchGet(client: DynamoDBClient, tableName: string, keys: readonly Item[]): Promise<Item[]> {
  const found: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Item[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending !== undefined && pending.length > 0; attempt += 1) {
      if (attempt >= 10) throw new Error(`${tableName}: ${pending.length} keys still unprocessed`);
      const response = await client.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(response.Responses?.[tableName] ?? []));
      pending = response.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
    }
  }
  return found;
}

/**
 * The body of `item`: its `attribute`, or its parts read back in order. Throws, naming the item, when a
 * part is missing or the parts do not hash to the body the item names (never a half-read body).
 */
async function readBody(
  client: DynamoDBClient,
  tableName: string,
  item: Item,
  attribute: string,
  partKey: (hash: string, index: number) => Item,
  what: string,
): Promise<string> {
  if (item[attribute]?.S !== undefined) return item[attribute].S;
  const count = requireNumber(item, 'parts', what);
  const hash = requireString(item, 'partsHash', what);
  const keys = Array.from({ length: count }, (_, i) => partKey(hash, i));
  const texts = new Map<string, string>();
  for (const part of await batchGet(client, tableName, keys)) {
    texts.set(stableKey(part, keys[0] ?? {}), requireString(part, 'part', what));
  }
  const body = keys.map((k, i) => {
    const text = texts.get(stableKey(k, k));
    if (text === undefined) throw new Error(`${what}: part ${i} of ${count} (${hash}) is missing`);
    return text;
  });
  const whole = body.join('');
  if (bodyHash(whole) !== hash) {
    throw new Error(`${what}: its ${count} parts do not make the body stored (${hash})`);
  }
  return whole;
}

/** A key's attributes (those of `shape`) as one string, to match a returned item to the key asked. */
function stableKey(item: Item, shape: Item): string {
  return Object.keys(shape)
    .sort()
    .map((name) => item[name]?.S ?? '')
    .join('\u0000');
}

async function putParts(client: DynamoDBClient, tableName: string, parts: readonly Item[]): Promise<void> {
  // One part an item (up to 350 KB each): a BatchWriteItem of 25 would pass its 16 MB request limit.
  for (const Item of parts) await client.send(new PutItemCommand({ TableName: tableName, Item }));
}

const runKey = (runId: string) => `STRESS#${runId}`;
const stepKey = (runId: string, step: number) => `STRESS#${runId}#STEP#${step}`;
const resultKey = (runId: string, step: number, segment: number) =>
  `STRESS#${runId}#STEP#${step}#SEG#${segment}`;

/** JSON with bigint minor units kept exact. */
export function stressJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? { units: v.toString() } : v));
}

export function parseStressJson<T>(text: string): T {
  return JSON.parse(text, (_key, v) =>
    v !== null && typeof v === 'object' && Object.keys(v).length === 1 && typeof v.units === 'string'
      ? BigInt(v.units)
      : v,
  ) as T;
}

const runPart = (pk: string) => (hash: string, index: number) => ({ pk: str(`${pk}#PART#${hash}#${index}`) });

export class DynamoDbStressRunStore implements StressRunStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(state: StressRunState): Promise<boolean> {
    try {
      await this.put(
        runKey(state.runId),
        stressJson(state),
        { step: num(state.step) },
        {
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: attributeNames('pk'),
        },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(runId: string): Promise<StressRunState | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: str(runKey(runId)) },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : parseStressJson(await this.body(Item, `stress run ${runId}`));
  }

  async recordSegment(runId: string, result: StressSegmentResult): Promise<number> {
    try {
      await this.put(
        resultKey(runId, result.step, result.segment),
        stressJson(result),
        {},
        {
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: attributeNames('pk'),
        },
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error; // a repeat keeps the first
    }
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: str(stepKey(runId, result.step)) },
        UpdateExpression: 'ADD #reported :segment',
        ExpressionAttributeNames: attributeNames('reported'),
        ExpressionAttributeValues: { ':segment': { NS: [String(result.segment)] } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Attributes?.reported?.NS?.length ?? 0;
  }

  async segmentResults(runId: string, step: number): Promise<readonly StressSegmentResult[]> {
    const run = await this.get(runId);
    if (run === undefined) return [];
    const keys = Array.from({ length: run.totalSegments }, (_, s) => resultKey(runId, step, s));
    return this.results(keys);
  }

  async segmentHistory(runId: string, segment: number): Promise<readonly StressSegmentResult[]> {
    const run = await this.get(runId);
    if (run === undefined) return [];
    const keys = Array.from({ length: run.step + 1 }, (_, step) => resultKey(runId, step, segment));
    return this.results(keys);
  }

  async advance(next: StressRunState, fromStep: number): Promise<boolean> {
    try {
      await this.put(
        runKey(next.runId),
        stressJson(next),
        { step: num(next.step) },
        {
          ConditionExpression: '#step = :from',
          ExpressionAttributeNames: attributeNames('step'),
          ExpressionAttributeValues: { ':from': num(fromStep) },
        },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Writes the body's parts (if it needs them), then the item naming them, under `condition`. */
  private async put(
    pk: string,
    body: string,
    fields: Item,
    condition: Pick<
      PutItemCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<void> {
    const stored = storedBody(body, 'body', runPart(pk));
    await putParts(this.client, this.tableName, stored.parts);
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: str(pk), ...fields, ...stored.fields },
        ...condition,
      }),
    );
  }

  private body(item: Item, what: string): Promise<string> {
    const pk = requireString(item, 'pk', what);
    return readBody(this.client, this.tableName, item, 'body', runPart(pk), what);
  }

  /** Consistent reads of these result items and their parts. */
  private async results(keys: readonly string[]): Promise<StressSegmentResult[]> {
    const items = await batchGet(
      this.client,
      this.tableName,
      keys.map((k) => ({ pk: str(k) })),
    );
    const found: StressSegmentResult[] = [];
    for (const item of items) found.push(parseStressJson(await this.body(item, 'stress segment result')));
    return found.sort((a, b) => a.step - b.step || a.segment - b.segment);
  }
}

const reportPart = (setId: string, runId: string) => (hash: string, index: number) => ({
  pk: str(`SET#${setId}`),
  sk: str(`STRESS#${runId}#PART#${hash}#${index}`),
});

export class DynamoDbStressReportStore implements StressReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Saves the report whole, however many ids it lists (parts first, then the item naming them). */
  async save(setId: string, runId: string, report: StoredStressReport): Promise<void> {
    const stored = storedBody(stressJson(report), 'report', reportPart(setId, runId));
    await putParts(this.client, this.tableName, stored.parts);
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: str(`SET#${setId}`), sk: str(`STRESS#${runId}`), ...stored.fields },
      }),
    );
  }

  async load(setId: string, runId: string): Promise<StoredStressReport | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: str(`SET#${setId}`), sk: str(`STRESS#${runId}`) },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    const what = `stress report ${runId} of set ${setId}`;
    return parseStressJson(
      await readBody(this.client, this.tableName, Item, 'report', reportPart(setId, runId), what),
    );
  }
}
