/**
 * The daily backtest report of a threshold set, stored in the set's own partition of the thresholds table:
 * `SET#<setId>` / `BACKTEST`, attributes setId, runId, computedAt, zone and `report` (the whole
 * `SetBacktestReport` as JSON, so every figure round-trips exactly). It is written after the set is
 * published and never touches the set's items or the CURRENT pointer; `readSet` ignores it.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SetBacktestReport } from '../../domain/backtest/daily-report.ts';
import { QmtError } from '../../domain/errors.ts';
import type { BacktestReportStore } from '../../ports.ts';
import { attributeNames, getString, type Item, str } from './attributes.ts';
import { displayKey, ItemLimitError, itemLimitViolation } from './limits.ts';
import { thresholdsTable } from './tables.ts';

const BACKTEST_SK = 'BACKTEST';

/** IAM actions on the thresholds table: the recalibration records, the CLI (or an auditor) reads. */
export const BACKTEST_REPORT_STORE_IAM_ACTIONS = {
  record: ['dynamodb:PutItem'],
  read: ['dynamodb:GetItem'],
} as const;

export class DynamoDbBacktestReportStore implements BacktestReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

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
