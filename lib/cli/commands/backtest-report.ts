/**
 * `qmt backtest-report --set ID`: the daily backtest stored with a threshold set (EMIR Art. 49), read from
 * the local cycle's DynamoDB Local (`qmt start --backtest` stores one with every set it publishes).
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DynamoDbBacktestReportStore } from '../../adapters/dynamodb/backtest-report-store.ts';
import { startDynamoDbLocal } from '../../adapters/local/dynamodb-local.ts';
import type { SetBacktestReport } from '../../domain/backtest/daily-report.ts';
import { QmtError } from '../../domain/errors.ts';
import { UsageError } from '../inputs.ts';
import { fixed, percent, renderTable } from '../table.ts';

/** No report for the set asked for: exit code 1, with the reason. */
export class BacktestReportNotFoundError extends QmtError {
  constructor(message: string) {
    super(message);
    this.name = 'BacktestReportNotFoundError';
  }
}

/**
 * The report stored for `setId` in the data directory's database.
 *
 * @throws UsageError when the data directory has no database; BacktestReportNotFoundError when the set has
 *   no report.
 */
export async function readBacktestReport(dataDir: string, setId: string): Promise<SetBacktestReport> {
  const dbPath = resolve(dataDir, 'dynamodb');
  try {
    await access(dbPath);
  } catch {
    throw new UsageError(
      `--data-dir ${dataDir}: no local database there (run \`qmt start --backtest\` first)`,
    );
  }
  const db = await startDynamoDbLocal({ dbPath });
  try {
    const report = await new DynamoDbBacktestReportStore(db.client, db.tables.thresholds).get(setId);
    if (!report) {
      throw new BacktestReportNotFoundError(
        `no backtest report is stored for set ${setId} (the set does not exist, was published without \`--backtest\`, or its backtest failed: see the ops events)`,
      );
    }
    return report;
  } finally {
    await db.stop();
  }
}

/** The report as a table: one row per instrument, then the instruments that could not be backtested. */
export function formatBacktestReport(report: SetBacktestReport): string {
  const lines = [
    `daily backtest of set ${report.setId} (run ${report.runId}), computed ${report.computedAt}`,
    `last ${report.scoredDays} scored days per instrument; zone ${report.zone.toUpperCase()} (Basel traffic light: green, yellow = amber, red)`,
    '',
    renderTable(
      [
        'instrument',
        'zone',
        'days',
        'from',
        'to',
        'long',
        'short',
        'Kupiec p L/S',
        'Christoffersen p L/S',
        'avg IM',
        'hindsight',
        'cost',
      ],
      report.instruments.map((i) => [
        i.instrument,
        i.zone,
        String(i.observations),
        i.from,
        i.to,
        String(i.long.breaches),
        String(i.short.breaches),
        `${fixed(i.long.kupiecP)} / ${fixed(i.short.kupiecP)}`,
        `${fixed(i.long.christoffersenP)} / ${fixed(i.short.christoffersenP)}`,
        percent(i.averageInitialMarginRate),
        percent(i.hindsightFixedRate),
        fixed(i.cost, 2),
      ]),
      [
        'left',
        'left',
        'right',
        'left',
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
      ],
    ),
  ];
  if (report.failed.length > 0) {
    lines.push('', 'not backtested:', ...report.failed.map((f) => `  ${f.reason}`));
  }
  return lines.join('\n');
}
