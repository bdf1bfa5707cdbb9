/**
 * The daily backtest report of a threshold set, stored in the set's own partition of the thresholds table:
 * `SET#<setId>` / `BACKTEST`, attributes setId, runId, computedAt, zone and `report` (the whole
 * `SetBacktestReport` as JSON, so every figure round-trips exactly). It is written after the set is
 * published and never touches the set's items or the CURRENT pointer; `readSet` ignores it.
 *
 * Each instrument's kept walk (what the next run continues from) is one item `WALK#<instrument>` /
 * `BACKTEST`: attributes lastDay, policyHash and `walk` (the `DailyWalkState` as JSON, about 20 KB at 250
 * days). It carries neither `instrument` nor `historyKey`, so the thresholds' history index never sees it.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SetBacktestReport } from '../../domain/backtest/daily-report.ts';
import { type DailyWalkState, parseDailyWalkState } from '../../domain/backtest/daily-walk.ts';
import { QmtError } from '../../domain/errors.ts';
import type { BacktestReportStore, KeptWalk } from '../../ports.ts';
import { attributeNames, getString, type Item, str } from './attributes.ts';
import { type BatchOptions, batchWriteAll } from './batch.ts';
import { displayKey, ItemLimitError, itemLimitViolation } from './limits.ts';
import { keyAttributeNames, thresholdsTable } from './tables.ts';

const BACKTEST_SK = 'BACKTEST';
const WALK_PREFIX = 'WALK#';
/** Kept walks read at once (one GetItem each, about 20 KB). */
const WALK_READS_IN_FLIGHT = 16;

/**
 * IAM actions on the thresholds table: the recalibration records (reports, and the kept walks in batches)
 * and reads its kept walks; the CLI (or an auditor) reads.
 */
export const BACKTEST_REPORT_STORE_IAM_ACTIONS = {
  record: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem'],
  read: ['dynamodb:GetItem'],
} as const;

export class DynamoDbBacktestReportStore implements BacktestReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { readonly batch?: BatchOptions } = {},
  ) {}

  /** One GetItem per instrument (a few in flight); a kept walk that does not parse is returned as unreadable. */
  async walks(instruments: readonly string[]): Promise<ReadonlyMap<string, KeptWalk>> {
    const found = new Map<string, KeptWalk>();
    let next = 0;
    const reader = async () => {
      for (let i = next++; i < instruments.length; i = next++) {
        const instrument = instruments[i] as string;
        const out = await this.client.send(
          new GetItemCommand({
            TableName: this.tableName,
            Key: walkKey(instrument),
            ProjectionExpression: '#walk',
            ExpressionAttributeNames: attributeNames('walk'),
          }),
        );
        if (!out.Item) continue;
        try {
          const text = getString(out.Item, 'walk');
          if (text === undefined)
            throw new QmtError(`${instrument}: the kept backtest walk has no walk attribute`);
          found.set(instrument, { state: parseDailyWalkState(JSON.parse(text), instrument) });
        } catch (error) {
          found.set(instrument, { unreadable: error instanceof Error ? error.message : String(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(WALK_READS_IN_FLIGHT, instruments.length) }, reader));
    return found;
  }

  /** @throws ItemLimitError, before writing anything, when a walk is past DynamoDB's item size. */
  async recordWalks(walks: readonly DailyWalkState[]): Promise<void> {
    const items = walks.map((walk) => {
      const item: Item = {
        ...walkKey(walk.instrument),
        lastDay: str(walk.lastDay),
        policyHash: str(walk.policyHash),
        walk: str(JSON.stringify(walk)),
      };
      const reason = itemLimitViolation(thresholdsTable, item);
      if (reason !== undefined) {
        const shown = displayKey(walk.instrument);
        throw new ItemLimitError(`kept backtest walk of ${shown}: ${reason}`, shown);
      }
      return item;
    });
    await batchWriteAll(
      this.client,
      this.tableName,
      items.map((Item) => ({ PutRequest: { Item } })),
      keyAttributeNames(thresholdsTable),
      this.options.batch,
    );
  }

  /** @throws ItemLimitError, before writing, when the report is past DynamoDB's item size. */
  async record(report: SetBacktestReport): Promise<void> {
    const item: Item = {
      ...keyOf(report.setId),
      setId: str(report.setId),
      runId: str(report.runId),
      computedAt: str(report.computedAt),
      zone: str(report.zone),
      report: str(stringify(report)),
    };
    const reason = itemLimitViolation(thresholdsTable, item);
    if (reason !== undefined) {
      const shown = displayKey(report.setId);
      throw new ItemLimitError(`backtest report of set ${shown}: ${reason}`, shown);
    }
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
  }

  async get(setId: string): Promise<SetBacktestReport | undefined> {
    const found = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keyOf(setId),
        ProjectionExpression: '#report',
        ExpressionAttributeNames: attributeNames('report'),
      }),
    );
    if (!found.Item) return undefined;
    const text = getString(found.Item, 'report');
    const what = `the backtest report of set ${displayKey(setId)}`;
    if (text === undefined) throw new QmtError(`${what} has no report attribute`);
    const parsed: unknown = JSON.parse(text);
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      (parsed as { setId?: unknown }).setId !== setId ||
      !Array.isArray((parsed as { instruments?: unknown }).instruments)
    ) {
      throw new QmtError(`${what} is not a backtest report of that set`);
    }
    return parsed as SetBacktestReport;
  }
}

function walkKey(instrument: string): Item {
  if (instrument === '') throw new QmtError('a kept backtest walk needs an instrument');
  return { pk: str(`${WALK_PREFIX}${instrument}`), sk: str(BACKTEST_SK) };
}

function keyOf(setId: string): Item {
  if (setId === '') throw new QmtError('a backtest report needs a set id');
  return { pk: str(`SET#${setId}`), sk: str(BACKTEST_SK) };
}

/** NaN and ±Infinity would become null in JSON: a p-value must not silently vanish, so they are refused. */
function stringify(report: SetBacktestReport): string {
  return JSON.stringify(report, (key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new QmtError(
        `backtest report of set ${report.setId}: ${key} is ${value}, which cannot be stored`,
      );
    }
    return value;
  });
}
