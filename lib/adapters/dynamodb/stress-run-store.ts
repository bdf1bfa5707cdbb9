/**
 * The fanned-out stress run's state in DynamoDB (`lib/app/stress-run.ts`), and its report stored with the
 * threshold set it stressed.
 *
 * Items (table `runs`, key `pk`), bodies as JSON (bigint minor units as `{ "units": "<digits>" }`):
 * - `STRESS#<runId>`: the run (step, phase, marks, rounds so far…), `step` also as a number for the
 *   conditional advance: each step is reduced once.
 * - `STRESS#<runId>#STEP#<step>#SEG#<segment>`: one segment's result for one step, written once.
 * - `STRESS#<runId>#STEP#<step>`: `reported`, the number set of segments that have written their result
 *   (ADD is idempotent, so a repeated delivery counts once).
 *
 * Reports (table `thresholds`, keys `pk`/`sk`): `SET#<setId>` / `STRESS#<runId>`, the report as JSON.
 * An item holds at most 400 KB: a round's liquidated ids count against it (docs/STRESS.md).
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  StoredStressReport,
  StressReportStore,
  StressRunState,
  StressRunStore,
  StressSegmentResult,
} from '../../ports.ts';
import { attributeNames, type Item, num, requireString, str } from './attributes.ts';

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

export class DynamoDbStressRunStore implements StressRunStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(state: StressRunState): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: str(runKey(state.runId)), step: num(state.step), body: str(stressJson(state)) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: attributeNames('pk'),
        }),
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
    return Item === undefined ? undefined : parseStressJson(requireString(Item, 'body', 'stress run'));
  }

  async recordSegment(runId: string, result: StressSegmentResult): Promise<number> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: str(resultKey(runId, result.step, result.segment)), body: str(stressJson(result)) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: attributeNames('pk'),
        }),
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
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: str(runKey(next.runId)), step: num(next.step), body: str(stressJson(next)) },
          ConditionExpression: '#step = :from',
          ExpressionAttributeNames: attributeNames('step'),
          ExpressionAttributeValues: { ':from': num(fromStep) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Consistent reads of these result items (100 keys a call), unprocessed keys asked again. */
  private async results(keys: readonly string[]): Promise<StressSegmentResult[]> {
    const found: StressSegmentResult[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Item[] | undefined = keys.slice(i, i + 100).map((k) => ({ pk: str(k) }));
      for (let attempt = 0; pending !== undefined && pending.length > 0; attempt += 1) {
        if (attempt >= 10) throw new Error(`stress results: ${pending.length} keys still unprocessed`);
        const response = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          found.push(parseStressJson(requireString(item, 'body', 'stress segment result')));
        }
        pending = response.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined;
      }
    }
    return found.sort((a, b) => a.step - b.step || a.segment - b.segment);
  }
}

export class DynamoDbStressReportStore implements StressReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async save(setId: string, runId: string, report: StoredStressReport): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: str(`SET#${setId}`), sk: str(`STRESS#${runId}`), report: str(stressJson(report)) },
      }),
    );
  }
}
