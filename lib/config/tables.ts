/**
 * Which DynamoDB table is which, by name: plain values the runtime configuration reads from the environment.
 * The table shapes (keys, indexes) are the DynamoDB adapter's business (`lib/adapters/dynamodb/tables.ts`);
 * only the names live here, so reading the configuration needs no adapter.
 */

export type TableId = 'thresholds' | 'accounts' | 'marginStatus' | 'runs' | 'breachIndex' | 'candles';

export type TableNames = Readonly<Record<TableId, string>>;

export const DEFAULT_TABLE_PREFIX = 'qmt';

/** Appended to the deployment prefix: `<prefix>-<suffix>`. */
export const TABLE_SUFFIX: Readonly<Record<TableId, string>> = {
  thresholds: 'thresholds',
  accounts: 'accounts',
  marginStatus: 'margin-status',
  runs: 'runs',
  breachIndex: 'breach-index',
  candles: 'candles',
};

/** `<prefix>-<suffix>` for every table. */
export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  return {
    thresholds: `${prefix}-${TABLE_SUFFIX.thresholds}`,
    accounts: `${prefix}-${TABLE_SUFFIX.accounts}`,
    marginStatus: `${prefix}-${TABLE_SUFFIX.marginStatus}`,
    runs: `${prefix}-${TABLE_SUFFIX.runs}`,
    breachIndex: `${prefix}-${TABLE_SUFFIX.breachIndex}`,
    candles: `${prefix}-${TABLE_SUFFIX.candles}`,
  };
}

/** Environment variables that name each table (the stack sets them on every function). */
export const TABLE_NAME_ENV: Readonly<Record<TableId, string>> = {
  thresholds: 'QMT_THRESHOLDS_TABLE',
  accounts: 'QMT_ACCOUNTS_TABLE',
  marginStatus: 'QMT_MARGIN_STATUS_TABLE',
  runs: 'QMT_RUNS_TABLE',
  breachIndex: 'QMT_BREACH_INDEX_TABLE',
  candles: 'QMT_CANDLES_TABLE',
};

/**
 * Table names from the environment: each `QMT_*_TABLE` wins, else `<QMT_TABLE_PREFIX or qmt>-<suffix>`.
 * The accounts table usually has the exchange's own name, hence one variable per table.
 */
export function tableNamesFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TableNames {
  const defaults = tableNames(env.QMT_TABLE_PREFIX || DEFAULT_TABLE_PREFIX);
  return {
    thresholds: env[TABLE_NAME_ENV.thresholds] || defaults.thresholds,
    accounts: env[TABLE_NAME_ENV.accounts] || defaults.accounts,
    marginStatus: env[TABLE_NAME_ENV.marginStatus] || defaults.marginStatus,
    runs: env[TABLE_NAME_ENV.runs] || defaults.runs,
    breachIndex: env[TABLE_NAME_ENV.breachIndex] || defaults.breachIndex,
    candles: env[TABLE_NAME_ENV.candles] || defaults.candles,
  };
}
