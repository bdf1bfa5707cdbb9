/**
 * The DynamoDB tables qmt uses, as plain data. One definition feeds CreateTable (tests, `npm start`) and the
 * CDK stack, so the local tables and the deployed ones cannot drift apart. No runtime AWS import here: the
 * CDK app imports this module too.
 */
import type { CreateTableCommandInput, Projection } from '@aws-sdk/client-dynamodb';
import { TABLE_SUFFIX, type TableId } from '../../config/tables.ts';

export type KeyAttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyAttributeType;
}

export type IndexProjection =
  | { readonly type: 'ALL' }
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly nonKeyAttributes: readonly string[] };

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection: IndexProjection;
}

export interface LocalIndexDefinition {
  readonly indexName: string;
  readonly sortKey: KeyAttribute;
  readonly projection: IndexProjection;
}

export type { TableId } from '../../config/tables.ts';

export interface TableDefinition {
  readonly id: TableId;
  /** Appended to the deployment prefix: `<prefix>-<suffix>`. */
  readonly suffix: string;
  readonly description: string;
  /** `exchange`: the table belongs to the exchange; the stack may import it rather than create it. */
  readonly ownedBy: 'qmt' | 'exchange';
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly GlobalIndexDefinition[];
  readonly localSecondaryIndexes: readonly LocalIndexDefinition[];
  /** Attribute holding an epoch-seconds expiry; DynamoDB deletes the item some time after it passes. */
  readonly timeToLiveAttribute?: string;
  /** Every table is on-demand: load is bursty (a daily recalibration, sweeps fanned out over segments). */
  readonly billingMode: 'PAY_PER_REQUEST';
}

/** Index of one instrument's thresholds across sets, newest first (history key = `asOf#createdAt#setId`). */
export const THRESHOLD_HISTORY_INDEX = 'byInstrument';

/**
 * Thresholds. A set's items share one partition (`pk = SET#<setId>`): one `META` item, one item per
 * instrument (`sk = INSTR#<instrument>`) and the correlations' chunks (`sk = CORR#0001`…), so a reader
 * fetches a whole set in one Query. The `CURRENT`
 * pointer is the item `pk = POINTER, sk = CURRENT`. Only instrument items carry `instrument`/`historyKey`,
 * so the history index is sparse: neither the pointer nor META items land in it.
 */
export const thresholdsTable: TableDefinition = {
  id: 'thresholds',
  suffix: TABLE_SUFFIX.thresholds,
  description: 'Immutable threshold sets and the CURRENT pointer',
  ownedBy: 'qmt',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: THRESHOLD_HISTORY_INDEX,
      partitionKey: { name: 'instrument', type: 'S' },
      sortKey: { name: 'historyKey', type: 'S' },
      // History needs only the threshold document; the keys come with every index entry anyway.
      projection: { type: 'INCLUDE', nonKeyAttributes: ['threshold'] },
    },
  ],
  localSecondaryIndexes: [],
  billingMode: 'PAY_PER_REQUEST',
};

/** Accounts: owned by the exchange, read by Scan segments. Item schema: `ACCOUNTS.md`. */
export const accountsTable: TableDefinition = {
  id: 'accounts',
  suffix: TABLE_SUFFIX.accounts,
  description: "The exchange's accounts (collateral and positions), read-only for qmt",
  ownedBy: 'exchange',
  partitionKey: { name: 'accountId', type: 'S' },
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
  billingMode: 'PAY_PER_REQUEST',
};

/** One item per account: state, sequence and what it was computed under. */
/**
 * The watchlist: a sparse index of the statuses that are not OK or still hold a pending alert (`watch` =
 * `w<shard>`, set by every transition and removed when an alert back to OK is confirmed). A sweep reads only
 * these statuses; any other account is OK with nothing pending, and its status is read only when it is
 * about to change state. Sixteen shards keep a crash day's writes off one index partition.
 */
export const MARGIN_WATCHLIST_INDEX = 'watchlist';
export const MARGIN_WATCHLIST_SHARDS = 16;

export const marginStatusTable: TableDefinition = {
  id: 'marginStatus',
  suffix: TABLE_SUFFIX.marginStatus,
  description: 'Margin state per account, changed only by conditional writes on its sequence number',
  ownedBy: 'qmt',
  partitionKey: { name: 'accountId', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: MARGIN_WATCHLIST_INDEX,
      partitionKey: { name: 'watch', type: 'S' },
      sortKey: { name: 'accountId', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
  ],
  localSecondaryIndexes: [],
  billingMode: 'PAY_PER_REQUEST',
};

/** Runs ledger: `RUN#<runId>` records (status, counts, outcome) and `LEASE#<name>` lease items. */
export const runsTable: TableDefinition = {
  id: 'runs',
  suffix: TABLE_SUFFIX.runs,
  description: 'Run records and the recalibration lease',
  ownedBy: 'qmt',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
  timeToLiveAttribute: 'ttl',
  billingMode: 'PAY_PER_REQUEST',
};

// The names (prefix, suffixes, environment variables) are configuration; re-exported so the adapters and the
// stack keep one import for table facts.
export {
  DEFAULT_TABLE_PREFIX,
  TABLE_NAME_ENV,
  type TableNames,
  tableNames,
  tableNamesFromEnv,
} from '../../config/tables.ts';

/** Key attribute names of a table, partition key first (used to name items in error reports). */
export function keyAttributeNames(table: TableDefinition): readonly string[] {
  return table.sortKey ? [table.partitionKey.name, table.sortKey.name] : [table.partitionKey.name];
}

function toProjection(projection: IndexProjection): Projection {
  return projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.nonKeyAttributes] }
    : { ProjectionType: projection.type };
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute) {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** The CreateTable request for `table` under `tableName` (TTL is a separate UpdateTimeToLive call). */
export function toCreateTableInput(table: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttributeType>();
  const note = (key: KeyAttribute | undefined) => {
    if (!key) return;
    const seen = attributes.get(key.name);
    if (seen && seen !== key.type) {
      throw new Error(`${table.id}: attribute ${key.name} is declared both ${seen} and ${key.type}`);
    }
    attributes.set(key.name, key.type);
  };
  note(table.partitionKey);
  note(table.sortKey);
  for (const index of table.globalSecondaryIndexes) {
    note(index.partitionKey);
    note(index.sortKey);
  }
  for (const index of table.localSecondaryIndexes) note(index.sortKey);

  return {
    TableName: tableName,
    BillingMode: table.billingMode,
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    ...(table.globalSecondaryIndexes.length > 0 && {
      GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection: toProjection(index.projection),
      })),
    }),
    ...(table.localSecondaryIndexes.length > 0 && {
      LocalSecondaryIndexes: table.localSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(table.partitionKey, index.sortKey),
        Projection: toProjection(index.projection),
      })),
    }),
  };
}

/**
 * Breach index (`lib/adapters/dynamodb/breach-index.ts`): one item per (threshold set, instrument, side,
 * account), `pk = <setId>#<instrument>#<below|above>#<shard>` (16 shards by account hash spread a sweep's
 * writes), `accountId` the sort key, `price` the band's edge. The local index on `price` makes "every band a
 * mark crosses" one Query per partition. The set id in the key keeps another set's entries out of every
 * answer; `expiresAt` (epoch seconds, refreshed by every full sweep) lets old sets' items go.
 *
 * Written by every full sweep (the workers) and by the market watch's targeted sweeps, read by the watch.
 */
export const BREACH_INDEX_BY_PRICE = 'byPrice';

export const breachIndexTable: TableDefinition = {
  id: 'breachIndex',
  suffix: TABLE_SUFFIX.breachIndex,
  description: 'Breach bands per threshold set, instrument and account, for targeted sweeps',
  ownedBy: 'qmt',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'accountId', type: 'S' },
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [
    {
      indexName: BREACH_INDEX_BY_PRICE,
      sortKey: { name: 'price', type: 'N' },
      projection: { type: 'KEYS_ONLY' },
    },
  ],
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
};

/** The breach index table's definition (kept for callers written before it joined `TABLES`). */
export function breachIndexTableDefinition(): TableDefinition {
  return breachIndexTable;
}

/**
 * Candles as fetched from each venue (`lib/adapters/market/stored.ts`, `candle-store.ts`): one partition per
 * venue, instrument and bar length (`pk = <venue>#<instrument>#<intervalMs>`), the bar's open time (ms) the
 * sort key, so "the stored bars in a range" is one Query. Written by the recalibration, read by it.
 */
export const candlesTable: TableDefinition = {
  id: 'candles',
  suffix: TABLE_SUFFIX.candles,
  description: 'Candles per venue, instrument and bar length, so a run fetches only what is new',
  ownedBy: 'qmt',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'time', type: 'N' },
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
  billingMode: 'PAY_PER_REQUEST',
};

/** Every table qmt uses, in the order they are created locally and listed. */
export const TABLES: readonly TableDefinition[] = [
  thresholdsTable,
  accountsTable,
  marginStatusTable,
  runsTable,
  breachIndexTable,
  candlesTable,
];
