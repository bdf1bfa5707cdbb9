/**
 * The candles table (`tables.ts` `candlesTable`): the bars qmt has fetched, per venue, instrument and bar
 * length. Reading a range is one paginated Query on the partition; writing is BatchWriteItem (one PutItem
 * per bar, replacing a revised bar in place).
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { Candle } from '../../domain/market/candle.ts';
import type { CandleStore, HistoryStart, TimeRange } from '../../ports.ts';
import { attributeNames, type Item, num, requireNumber, str } from './attributes.ts';
import { type BatchOptions, batchWriteAll } from './batch.ts';
import { candlesTable, keyAttributeNames } from './tables.ts';

/** What the store calls, for the IAM policy (`infra/constructs/functions.ts`). */
export const CANDLE_STORE_IAM_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:Query'] as const;

const KEY_NAMES = keyAttributeNames(candlesTable);

/** One partition per venue, instrument and bar length. */
const candlePartition = (venue: string, instrument: string, intervalMs: number) =>
  `${venue}#${instrument}#${intervalMs}`;

export class DynamoDbCandleStore implements CandleStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly batchOptions: BatchOptions = {},
  ) {}

  async read(venue: string, instrument: string, intervalMs: number, range: TimeRange): Promise<Candle[]> {
    const pk = candlePartition(venue, instrument, intervalMs);
    const candles: Candle[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          // [from, to): BETWEEN is inclusive, so the upper bound is the last ms before `to`.
          KeyConditionExpression: '#pk = :pk AND #time BETWEEN :from AND :last',
          ExpressionAttributeNames: attributeNames('pk', 'time'),
          ExpressionAttributeValues: {
            ':pk': str(pk),
            ':from': num(Math.ceil(range.from)),
            ':last': num(Math.ceil(range.to) - 1),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) candles.push(parseCandle(item, pk));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return candles;
  }

  async write(
    venue: string,
    instrument: string,
    intervalMs: number,
    candles: readonly Candle[],
  ): Promise<void> {
    const pk = candlePartition(venue, instrument, intervalMs);
    const requests = candles.map((candle) => ({
      PutRequest: {
        Item: {
          pk: str(pk),
          time: num(candle.time),
          open: num(candle.open),
          high: num(candle.high),
          low: num(candle.low),
          close: num(candle.close),
          volume: num(candle.volume),
        },
      },
    }));
    await batchWriteAll(this.client, this.tableName, requests, KEY_NAMES, this.batchOptions);
  }

  // Query and BatchWriteItem like the bars: the role needs no other action for it.
  async readHistoryStart(
    venue: string,
    instrument: string,
    intervalMs: number,
  ): Promise<HistoryStart | undefined> {
    const pk = historyStartPartition(venue, instrument, intervalMs);
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #time = :zero',
        ExpressionAttributeNames: attributeNames('pk', 'time'),
        ExpressionAttributeValues: { ':pk': str(pk), ':zero': num(0) },
      }),
    );
    const item = page.Items?.[0];
    if (item === undefined) return undefined;
    const what = `history start ${pk}`;
    return {
      from: requireNumber(item, 'from', what),
      before: requireNumber(item, 'before', what),
      learntAt: requireNumber(item, 'learntAt', what),
    };
  }

  async writeHistoryStart(
    venue: string,
    instrument: string,
    intervalMs: number,
    start: HistoryStart,
  ): Promise<void> {
    const item = {
      pk: str(historyStartPartition(venue, instrument, intervalMs)),
      time: num(0),
      from: num(start.from),
      before: num(start.before),
      learntAt: num(start.learntAt),
    };
    await batchWriteAll(
      this.client,
      this.tableName,
      [{ PutRequest: { Item: item } }],
      KEY_NAMES,
      this.batchOptions,
    );
  }
}

/** The history-start fact sits in a partition of its own beside the bars, so a range read never meets it. */
const historyStartPartition = (venue: string, instrument: string, intervalMs: number) =>
  `${candlePartition(venue, instrument, intervalMs)}#history-start`;

function parseCandle(item: Item, pk: string): Candle {
  const what = `candle ${pk} ${item.time?.N ?? '?'}`;
  return {
    time: requireNumber(item, 'time', what),
    open: requireNumber(item, 'open', what),
    high: requireNumber(item, 'high', what),
    low: requireNumber(item, 'low', what),
    close: requireNumber(item, 'close', what),
    volume: requireNumber(item, 'volume', what),
  };
}
