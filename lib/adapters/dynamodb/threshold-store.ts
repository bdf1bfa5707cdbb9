/**
 * Threshold sets in DynamoDB. A set is written in full under its own partition, and only then does the
 * CURRENT pointer move, in one conditional write on the previous set id. Readers follow the pointer, so they
 * see the old set or the new one, never half of a recalibration.
 *
 * Items (table `thresholds`, keys `pk`/`sk`):
 * - `POINTER` / `CURRENT`: setId, previousSetId, runId, createdAt, publishedAt, instrumentCount, publishToken
 * - `SET#<setId>` / `META`: setId, runId, createdAt, previousSetId, instrumentCount, correlationEncoding
 *   (`matrix/1`), correlationChunks and correlationsHash (when the set has estimated pair correlations),
 *   catalogue (the discovered instrument catalogue as JSON, when discovery is on).
 * - `SET#<setId>` / `CORR#<0001…>`: `correlationMatrix` (B), one chunk (≤ 350 KB) of the pair correlations
 *   as the binary matrix of `correlation-matrix.ts` (exact Float64 ρ; about 690 KB, two chunks, for the
 *   44,850 pairs of 300 instruments, against about 10 MB as JSON). Written before META, which names their
 *   count and the whole body's hash. Not `part`: the stress reports' parts in this partition hold that, and
 *   the set's Query must not fetch them.
 * Older sets still read: correlations as JSON inline in META (`correlations`), or as JSON chunks
 * (`correlationPart` (S) in the `CORR#` items, META without `correlationEncoding`).
 * - `SET#<setId>` / `INSTR#<instrument>`: instrument, historyKey (`asOf#createdAt#setId`), ordinal, threshold
 *   (the whole `Threshold` as JSON, so every audit field and number round-trips exactly)
 */
import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { QmtError, ThresholdSetConflictError } from '../../domain/errors.ts';
import type { DiscoveredCatalogue } from '../../domain/market/instrument-catalogue.ts';
import type { PairCorrelation } from '../../domain/threshold/correlation.ts';
import type { Threshold, ThresholdSet } from '../../domain/threshold/threshold.ts';
import type { Clock, ThresholdStore } from '../../ports.ts';
import {
  attributeNames,
  getString,
  type Item,
  num,
  requireNumber,
  requireString,
  str,
} from './attributes.ts';
import { type BatchOptions, batchWriteAll } from './batch.ts';
import { binaryParts, bodyHash } from './body-parts.ts';
import {
  CORRELATION_MATRIX_ENCODING,
  decodeCorrelationMatrix,
  encodeCorrelationMatrix,
} from './correlation-matrix.ts';
import { displayKey, ItemLimitError, itemLimitViolation } from './limits.ts';
import { keyAttributeNames, THRESHOLD_HISTORY_INDEX, thresholdsTable } from './tables.ts';

const POINTER_KEY: Item = { pk: str('POINTER'), sk: str('CURRENT') };
const META_SK = 'META';
const INSTRUMENT_PREFIX = 'INSTR#';
const CORRELATION_PREFIX = 'CORR#';
const correlationChunkKey = (index: number) => `${CORRELATION_PREFIX}${String(index + 1).padStart(4, '0')}`;
const KEY_NAMES = keyAttributeNames(thresholdsTable);

const setPartition = (setId: string) => `SET#${setId}`;

export interface ThresholdStoreOptions {
  readonly batch?: BatchOptions;
  readonly clock?: Clock;
  /** Token that lets a publisher recognise its own pointer write when the SDK retries it. */
  readonly newToken?: () => string;
  /** History entries returned when the caller gives no limit. */
  readonly defaultHistoryLimit?: number;
  /**
   * Keep the last set read and serve it again while CURRENT still names it (the pointer is read every time).
   * @default true: a published set never changes, and a sweep worker's container reads it once, not at every
   * segment (44,850 pair correlations at 300 instruments)
   */
  readonly cacheSet?: boolean;
}

/**
 * IAM actions this adapter sends to the thresholds table. Reading the CURRENT set: GetItem (pointer), Query
 * (set partition). Publishing a set also sends BatchWriteItem (set items; deletes after a lost race) and
 * PutItem (pointer flip). `history` queries the history index with the read actions.
 */
export const THRESHOLD_STORE_IAM_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  publish: ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  /** On the history index (`byInstrument`): a shock run counts the day's earlier shock runs there. */
  history: ['dynamodb:Query'],
} as const;

export class DynamoDbThresholdStore implements ThresholdStore {
  private readonly clock: Clock;
  private readonly newToken: () => string;
  /**
   * The last set read (see `cacheSet`), as its read: segments processed side by side share one read. One
   * set, so a container holds at most one in memory.
   */
  private cached: { readonly setId: string; readonly set: Promise<ThresholdSet> } | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: ThresholdStoreOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.newToken = options.newToken ?? randomUUID;
  }

  /** The CURRENT set: the pointer read consistently every call, the set's partition only when it moved. */
  async currentSet(): Promise<ThresholdSet | undefined> {
    const setId = await this.currentSetId();
    if (setId === undefined) return undefined;
    if (this.cached?.setId === setId) return this.cached.set;
    const set = this.readSet(setId);
    if (!(this.options.cacheSet ?? true)) return set;
    const cached = { setId, set };
    this.cached = cached;
    // A failed read is not kept: the next call reads again.
    set.catch(() => {
      if (this.cached === cached) this.cached = undefined;
    });
    return set;
  }

  /**
   * Writes the set's items (batched, retried), then flips CURRENT with one conditional PutItem. A writer
   * that finds CURRENT already moved writes nothing; one that loses the race at the flip deletes the items it
   * wrote (best effort) so history shows only sets that were published.
   *
   * @throws ThresholdSetConflictError when CURRENT is not `expectedPreviousSetId`.
   * @throws IncompleteBatchError when the set's items could not all be written (CURRENT is untouched).
   * @throws ItemLimitError, before anything is written, when an item or key is past a DynamoDB limit.
   */
  async publishSet(set: ThresholdSet, expectedPreviousSetId: string | undefined): Promise<void> {
    checkPublishable(set, expectedPreviousSetId);
    const items = setItems(set);
    // Past a DynamoDB limit the batch would fail with an SDK error halfway through the set: refuse it whole.
    checkStorable(set.setId, items);
    const current = await this.currentSetId();
    if (current !== expectedPreviousSetId) {
      throw new ThresholdSetConflictError(
        `CURRENT is ${current ?? 'unset'}, not ${expectedPreviousSetId ?? 'unset'}: set ${set.setId} not written`,
        expectedPreviousSetId,
      );
    }

    // META last: it names the correlation chunks, so they are all in before it (and CURRENT moves after both).
    const [meta, ...rest] = items;
    for (const group of [rest, meta ? [meta] : []]) {
      await batchWriteAll(
        this.client,
        this.tableName,
        group.map((Item) => ({ PutRequest: { Item } })),
        KEY_NAMES,
        this.options.batch,
      );
    }

    const token = this.newToken();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...POINTER_KEY,
            setId: str(set.setId),
            ...(expectedPreviousSetId !== undefined && { previousSetId: str(expectedPreviousSetId) }),
            runId: str(set.runId),
            createdAt: str(set.createdAt),
            publishedAt: str(new Date(this.clock.now()).toISOString()),
            instrumentCount: num(set.thresholds.length),
            publishToken: str(token),
          },
          ...(expectedPreviousSetId === undefined
            ? {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: attributeNames('pk'),
              }
            : {
                ConditionExpression: '#setId = :expected',
                ExpressionAttributeNames: attributeNames('setId'),
                ExpressionAttributeValues: { ':expected': str(expectedPreviousSetId) },
              }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The SDK may resend a flip whose response was lost; finding our own token means the flip happened.
      if (getString(error.Item, 'publishToken') === token) return;
      const winner = getString(error.Item, 'setId');
      // Same set id (a duplicate of this very run) won: its items are the ones CURRENT needs, keep them.
      const cleanupError =
        winner === set.setId
          ? undefined
          : await this.deleteItems(items).then(
              () => undefined,
              (e: unknown) => e,
            );
      throw new ThresholdSetConflictError(
        `CURRENT moved to ${winner ?? 'unset'} while set ${set.setId} was written (expected ${expectedPreviousSetId ?? 'unset'})` +
          (cleanupError ? '; removing the unpublished items failed' : ''),
        expectedPreviousSetId,
        cleanupError ? { cause: cleanupError } : undefined,
      );
    }
  }

  /**
   * One instrument's thresholds across sets, newest first (by `asOf`, then publication time). `before` is an
   * exclusive upper bound on `asOf` (e.g. `2024-03-01` returns thresholds as of 29 Feb and earlier), so the
   * last `asOf` of one page fetches the next. Read from the history index, which is eventually consistent:
   * a set published a moment ago may take a moment to appear.
   */
  async history(instrument: string, options: { limit?: number; before?: string } = {}): Promise<Threshold[]> {
    const limit = options.limit ?? this.options.defaultHistoryLimit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new QmtError(`history limit must be a positive integer`);
    const thresholds: Threshold[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: THRESHOLD_HISTORY_INDEX,
          KeyConditionExpression:
            options.before === undefined
              ? '#instrument = :instrument'
              : '#instrument = :instrument AND #historyKey < :before',
          ExpressionAttributeNames: {
            ...attributeNames('instrument', 'threshold'),
            ...(options.before !== undefined && attributeNames('historyKey')),
          },
          ExpressionAttributeValues: {
            ':instrument': str(instrument),
            ...(options.before !== undefined && { ':before': str(options.before) }),
          },
          ProjectionExpression: '#threshold',
          ScanIndexForward: false,
          Limit: limit - thresholds.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) thresholds.push(parseThreshold(item, `history of ${instrument}`));
      startKey = page.LastEvaluatedKey;
    } while (startKey && thresholds.length < limit);
    return thresholds;
  }

  private async currentSetId(): Promise<string | undefined> {
    // Consistent: right after a flip, an eventually consistent read could still return the old set id.
    const pointer = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: POINTER_KEY,
        ConsistentRead: true,
        ProjectionExpression: '#setId',
        ExpressionAttributeNames: attributeNames('setId'),
      }),
    );
    return getString(pointer.Item, 'setId');
  }

  /** The whole set in one (paginated) Query of its partition. */
  private async readSet(setId: string): Promise<ThresholdSet> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: attributeNames(
            'pk',
            'sk',
            'ordinal',
            'threshold',
            'runId',
            'createdAt',
            'previousSetId',
            'instrumentCount',
            'correlations',
            'correlationChunks',
            'correlationsHash',
            'correlationPart',
            'correlationEncoding',
            'correlationMatrix',
            'catalogue',
          ),
          ExpressionAttributeValues: { ':pk': str(setPartition(setId)) },
          ProjectionExpression:
            '#sk, #ordinal, #threshold, #runId, #createdAt, #previousSetId, #instrumentCount, #correlations, ' +
            '#correlationChunks, #correlationsHash, #correlationPart, #correlationEncoding, #correlationMatrix, ' +
            '#catalogue',
          // Consistent: items written just before the flip must all be visible to a reader that saw the flip.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    const what = `threshold set ${setId}`;
    const meta = items.find((item) => getString(item, 'sk') === META_SK);
    if (!meta) throw new QmtError(`${what} has no META item`);
    const thresholds = items
      .filter((item) => getString(item, 'sk')?.startsWith(INSTRUMENT_PREFIX))
      .map((item) => ({
        ordinal: requireNumber(item, 'ordinal', what),
        threshold: parseThreshold(item, what),
      }))
      .sort((a, b) => a.ordinal - b.ordinal)
      .map(({ threshold }) => threshold);
    const expected = requireNumber(meta, 'instrumentCount', what);
    // Cannot happen through publishSet; guards against items removed by hand rather than serve half a set.
    if (thresholds.length !== expected) {
      throw new QmtError(`${what} is incomplete: ${thresholds.length} of ${expected} thresholds present`);
    }
    const previousSetId = getString(meta, 'previousSetId');
    const correlations = storedCorrelations(meta, items, what);
    const catalogue = getString(meta, 'catalogue');
    return {
      setId,
      runId: requireString(meta, 'runId', what),
      createdAt: requireString(meta, 'createdAt', what),
      ...(previousSetId !== undefined && { previousSetId }),
      thresholds,
      ...(correlations !== undefined && { correlations }),
      ...(catalogue !== undefined && { catalogue: parseCatalogue(catalogue, what) }),
    };
  }

  private deleteItems(items: readonly Item[]): Promise<void> {
    return batchWriteAll(
      this.client,
      this.tableName,
      items.map((item) => ({ DeleteRequest: { Key: keyOf(item) } })),
      KEY_NAMES,
      this.options.batch,
    );
  }
}

function keyOf(item: Item): Item {
  return Object.fromEntries(KEY_NAMES.flatMap((name) => (item[name] ? [[name, item[name]]] : [])));
}

/**
 * The set's correlations: from its binary matrix chunks (`matrix/1`), or as JSON from sets written before
 * it (inline in META, or JSON chunks), every chunk checked against META's count and hash. A missing or
 * altered chunk is an error: read as no correlations, the set would drop every correlation offset and raise
 * margins without anyone noticing.
 */
function storedCorrelations(meta: Item, items: readonly Item[], what: string): PairCorrelation[] | undefined {
  const inline = getString(meta, 'correlations');
  if (inline !== undefined) return parseCorrelations(inline, what);
  if (meta.correlationChunks === undefined) return undefined;
  const encoding = getString(meta, 'correlationEncoding');
  const consequence = 'refusing the set rather than drop its correlation offsets (higher margins)';
  if (encoding !== undefined && encoding !== CORRELATION_MATRIX_ENCODING) {
    throw new QmtError(
      `${what}: its correlations are stored as ${encoding}, which this version cannot read; ${consequence}`,
    );
  }
  const count = requireNumber(meta, 'correlationChunks', what);
  const hash = requireString(meta, 'correlationsHash', what);
  const chunks = new Map<string, Item>();
  for (const item of items) {
    const sk = getString(item, 'sk');
    if (sk?.startsWith(CORRELATION_PREFIX)) chunks.set(sk, item);
  }
  const inOrder = Array.from({ length: count }, (_, i) => {
    const key = correlationChunkKey(i);
    const chunk = chunks.get(key);
    if (chunk === undefined) {
      throw new QmtError(
        `${what}: correlation chunk ${key} (${i + 1} of ${count}) is missing; ${consequence}`,
      );
    }
    return { key, chunk };
  });
  const altered = () =>
    new QmtError(
      `${what}: its correlation chunks do not make the correlations stored (${count} chunks, hash ${hash}); ${consequence}`,
    );
  if (encoding === undefined) {
    const text = inOrder
      .map(({ key, chunk }) => requireString(chunk, 'correlationPart', `${what}, ${key}`))
      .join('');
    if (bodyHash(text) !== hash) throw altered();
    return parseCorrelations(text, what);
  }
  const parts = inOrder.map(({ key, chunk }) => {
    const part = chunk.correlationMatrix?.B;
    if (part === undefined) {
      throw new QmtError(
        `${what}, ${key}: attribute correlationMatrix is missing or not binary; ${consequence}`,
      );
    }
    return part;
  });
  const body = Buffer.concat(parts);
  if (bodyHash(body) !== hash) throw altered();
  return decodeCorrelationMatrix(body, what);
}

function checkPublishable(set: ThresholdSet, expectedPreviousSetId: string | undefined): void {
  if (set.setId === '') throw new QmtError('a threshold set needs a setId');
  if (set.setId === expectedPreviousSetId) {
    throw new QmtError(`set ${set.setId} cannot replace itself as CURRENT`);
  }
  const seen = new Set<string>();
  for (const threshold of set.thresholds) {
    if (seen.has(threshold.instrument)) {
      throw new QmtError(`set ${set.setId} has two thresholds for ${threshold.instrument}`);
    }
    seen.add(threshold.instrument);
  }
}

/** @throws ItemLimitError naming the set (shortened), the instrument (or META) and the limit. */
function checkStorable(setId: string, items: readonly Item[]): void {
  for (const item of items) {
    const reason = itemLimitViolation(thresholdsTable, item);
    if (reason === undefined) continue;
    const instrument = getString(item, 'instrument');
    const shown = displayKey(setId);
    const which = instrument === undefined ? `${getString(item, 'sk')} item` : `instrument ${instrument}`;
    throw new ItemLimitError(`threshold set ${shown}, ${which}: ${reason}`, shown);
  }
}

/** META first: `publishSet` writes it after the rest. */
function setItems(set: ThresholdSet): Item[] {
  const pk = str(setPartition(set.setId));
  const correlationsBody =
    set.correlations === undefined
      ? undefined
      : encodeCorrelationMatrix(set.correlations, `set ${set.setId}, correlations`);
  const chunks = correlationsBody === undefined ? [] : binaryParts(correlationsBody);
  const meta: Item = {
    pk,
    sk: str(META_SK),
    setId: str(set.setId),
    runId: str(set.runId),
    createdAt: str(set.createdAt),
    ...(set.previousSetId !== undefined && { previousSetId: str(set.previousSetId) }),
    instrumentCount: num(set.thresholds.length),
    ...(correlationsBody !== undefined && {
      correlationEncoding: str(CORRELATION_MATRIX_ENCODING),
      correlationChunks: num(chunks.length),
      correlationsHash: str(bodyHash(correlationsBody)),
    }),
    ...(set.catalogue !== undefined && {
      catalogue: str(stringifyFinite(set.catalogue, `set ${set.setId}, catalogue`)),
    }),
  };
  const thresholds = set.thresholds.map(
    (threshold, ordinal): Item => ({
      pk,
      sk: str(`${INSTRUMENT_PREFIX}${threshold.instrument}`),
      instrument: str(threshold.instrument),
      historyKey: str(`${threshold.asOf}#${set.createdAt}#${set.setId}`),
      ordinal: num(ordinal),
      threshold: str(stringifyThreshold(threshold, set.setId)),
    }),
  );
  const correlationItems = chunks.map(
    (part, i): Item => ({ pk, sk: str(correlationChunkKey(i)), correlationMatrix: { B: part } }),
  );
  return [meta, ...correlationItems, ...thresholds];
}

function stringifyThreshold(threshold: Threshold, setId: string): string {
  return stringifyFinite(threshold, `set ${setId}, ${threshold.instrument}`);
}

/** JSON keeps every finite double exactly; NaN and ±Infinity would silently become null, so they are refused. */
function stringifyFinite(document: unknown, what: string): string {
  return JSON.stringify(document, (key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new QmtError(`${what}: ${key} is ${value}, which cannot be stored`);
    }
    return value;
  });
}

function parseCorrelations(text: string, what: string): PairCorrelation[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new QmtError(`${what}: the stored correlations are not a list`);
  return parsed as PairCorrelation[];
}

function parseCatalogue(text: string, what: string): DiscoveredCatalogue {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray((parsed as { entries?: unknown } | null)?.entries)) {
    throw new QmtError(`${what}: the stored instrument catalogue has no entries list`);
  }
  return parsed as DiscoveredCatalogue;
}

function parseThreshold(item: Item, what: string): Threshold {
  const text = requireString(item, 'threshold', what);
  const parsed: unknown = JSON.parse(text);
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as { instrument?: unknown }).instrument !== 'string'
  ) {
    throw new QmtError(`${what}: a stored threshold is not a threshold document`);
  }
  return parsed as Threshold;
}
