import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../../lib/adapters/dynamodb/attributes.ts';
import { bodyHash, bodyParts } from '../../../lib/adapters/dynamodb/body-parts.ts';
import { ItemLimitError, itemBytes } from '../../../lib/adapters/dynamodb/limits.ts';
import { thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { ThresholdSetConflictError } from '../../../lib/domain/errors.ts';
import { seededRandom } from '../../../lib/domain/math/random.ts';
import type { PairCorrelation } from '../../../lib/domain/threshold/correlation.ts';
import type { ThresholdSet } from '../../../lib/domain/threshold/threshold.ts';
import { sampleSet } from '../../adapters/dynamodb/support.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

async function freshStore() {
  const table = await db.freshTable(thresholdsTable);
  return { table, store: new DynamoDbThresholdStore(db.local.client, table) };
}

const INSTRUMENTS = Array.from({ length: 120 }, (_, i) => `INST${i}`);

describe('DynamoDbThresholdStore on DynamoDB Local', () => {
  it('publishes set A then B; CURRENT follows and every number round-trips exactly', async () => {
    const { store } = await freshStore();
    await expect(store.currentSet()).resolves.toBeUndefined();

    const a = sampleSet('set-a', ['BTC', 'ETH', 'SOL'], { asOf: '2024-03-01', rate: 0.1 });
    await store.publishSet(a, undefined);
    await expect(store.currentSet()).resolves.toEqual(a);

    const b = sampleSet('set-b', ['SOL', 'BTC', 'ETH'], {
      asOf: '2024-03-02',
      createdAt: '2024-03-03T00:05:00.000Z',
      previousSetId: 'set-a',
      rate: 0.1 + 0.2,
    });
    await store.publishSet(b, 'set-a');
    const current = await store.currentSet();
    expect(current).toEqual(b);
    expect(current?.thresholds[1]?.initialMarginRate).toBe(0.30000000000000004);
    expect(current?.thresholds.map((t) => t.instrument)).toEqual(['SOL', 'BTC', 'ETH']);
  });

  it('stores the set’s estimated correlations with it, exactly, and reads a set without them as before', async () => {
    const { store } = await freshStore();
    const a: ThresholdSet = {
      ...sampleSet('set-a', ['BTC', 'ETH'], { asOf: '2024-03-01', rate: 0.1 }),
      correlations: [
        {
          a: 'BTC',
          b: 'ETH',
          lookback: { rho: 0.8123456789012345, days: 730, from: '2022-03-01', to: '2024-02-29' },
          stressed: { rho: 0.7, days: 9, from: '2020-03-12', to: '2022-11-09' },
          rho: 0.7,
        },
      ],
    };
    await store.publishSet(a, undefined);
    await expect(store.currentSet()).resolves.toEqual(a);
    const nan: ThresholdSet = {
      ...sampleSet('set-b', ['BTC', 'ETH'], { asOf: '2024-03-02', rate: 0.1 }),
      correlations: [{ a: 'BTC', b: 'ETH', rho: Number.NaN }],
    };
    await expect(store.publishSet(nan, 'set-a')).rejects.toThrow(/set set-b, correlations: rho is NaN/);
  });

  it('refuses a set whose instrument item is past 400 KB with a clear error; CURRENT stays on the last set', async () => {
    const { store } = await freshStore();
    const a = sampleSet('set-a', ['BTC', 'ETH']);
    await store.publishSet(a, undefined);
    const b = sampleSet('set-b', ['BTC', 'ETH'], { previousSetId: 'set-a' });
    const eth = b.thresholds[1] as ThresholdSet['thresholds'][number];
    const stressScenarios = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`${i}-${'s'.repeat(9_000)}`, { long: -0.4, short: 0.3 }]),
    );
    const heavy: ThresholdSet = {
      ...b,
      thresholds: [
        b.thresholds[0] as typeof eth,
        { ...eth, components: { ...eth.components, stressScenarios } },
      ],
    };
    const publish = store.publishSet(heavy, 'set-a');
    await expect(publish).rejects.toThrow(ItemLimitError);
    await expect(publish).rejects.toThrow(
      /^threshold set set-b, instrument ETH: item is \d+ bytes, over DynamoDB's 400 KB/,
    );
    await expect(store.currentSet()).resolves.toEqual(a);
    expect(await store.history('BTC')).toHaveLength(1); // nothing of set-b was written
  });

  it('never lets a reader see half a recalibration', async () => {
    const { store } = await freshStore();
    await store.publishSet(sampleSet('set-a', INSTRUMENTS, { rate: 0.1 }), undefined);

    const seen: ThresholdSet[] = [];
    let publishing = true;
    const reader = (async () => {
      while (publishing) {
        const set = await store.currentSet();
        if (set) seen.push(set);
      }
    })();
    // 121 items → five BatchWriteItem calls before the pointer may move.
    await store.publishSet(sampleSet('set-b', INSTRUMENTS, { rate: 0.2, previousSetId: 'set-a' }), 'set-a');
    publishing = false;
    await reader;
    seen.push((await store.currentSet()) ?? sampleSet('missing', []));

    expect(seen.length).toBeGreaterThan(1);
    for (const set of seen) {
      expect(set.thresholds).toHaveLength(INSTRUMENTS.length);
      const rate = set.setId === 'set-a' ? 0.1 : 0.2;
      expect(set.thresholds.every((t) => t.initialMarginRate === rate)).toBe(true);
    }
    expect(seen.at(-1)?.setId).toBe('set-b');
  });

  it('lets exactly one of two concurrent writers flip CURRENT, round after round', async () => {
    const { table, store } = await freshStore();
    // A second store object stands for a second Lambda with its own state.
    const rival = new DynamoDbThresholdStore(db.local.client, table);
    await store.publishSet(sampleSet('round-0', INSTRUMENTS.slice(0, 40)), undefined);

    let previous = 'round-0';
    for (let round = 1; round <= 5; round++) {
      const mine = sampleSet(`round-${round}-x`, INSTRUMENTS.slice(0, 40), {
        rate: 0.1,
        previousSetId: previous,
      });
      const theirs = sampleSet(`round-${round}-y`, INSTRUMENTS.slice(0, 40), {
        rate: 0.2,
        previousSetId: previous,
      });
      const results = await Promise.allSettled([
        store.publishSet(mine, previous),
        rival.publishSet(theirs, previous),
      ]);

      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i === 0 ? mine : theirs] : []));
      const losers = results.flatMap((r, i) =>
        r.status === 'rejected' ? [{ reason: r.reason, set: i === 0 ? mine : theirs }] : [],
      );
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0]?.reason).toBeInstanceOf(ThresholdSetConflictError);

      const winner = winners[0] as ThresholdSet;
      await expect(store.currentSet()).resolves.toEqual(winner);
      // The loser's items are gone, so history never shows a set that was not published.
      const leftovers = await db.local.client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `SET#${losers[0]?.set.setId}` } },
          Select: 'COUNT',
          ConsistentRead: true,
        }),
      );
      expect(leftovers.Count).toBe(0);
      previous = winner.setId;
    }
  });

  it("returns one instrument's history newest first, bounded by before and limit", async () => {
    const { store } = await freshStore();
    const a = sampleSet('set-a', ['BTC', 'ETH'], { asOf: '2024-03-01', rate: 0.1 });
    const b = sampleSet('set-b', ['BTC'], {
      asOf: '2024-03-02',
      createdAt: '2024-03-03T00:05:00.000Z',
      rate: 0.2,
    });
    await store.publishSet(a, undefined);
    await store.publishSet(b, 'set-a');

    const history = await store.history('BTC');
    expect(history.map((t) => [t.asOf, t.initialMarginRate])).toEqual([
      ['2024-03-02', 0.2],
      ['2024-03-01', 0.1],
    ]);
    expect(history[1]).toEqual(a.thresholds[0]);
    await expect(store.history('BTC', { limit: 1 })).resolves.toEqual([b.thresholds[0]]);
    await expect(store.history('BTC', { before: '2024-03-02' })).resolves.toEqual([a.thresholds[0]]);
    await expect(store.history('ETH')).resolves.toEqual([a.thresholds[1]]);
    await expect(store.history('DOGE')).resolves.toEqual([]);
  });

  describe('a whole exchange’s correlations (300 instruments, 44,850 pairs, about 10 MB as JSON)', () => {
    const whole = exchangeSet('set-x', 300);
    const correlations = whole.correlations as PairCorrelation[];

    it('stores and reads back every pair exactly, as a binary matrix in chunk items under 350 KB', async () => {
      expect(correlations).toHaveLength(44_850);
      const { table, store } = await freshStore();
      await store.publishSet(whole, undefined);
      const read = await new DynamoDbThresholdStore(db.local.client, table).currentSet();
      expect(read).toStrictEqual(whole);
      expect(JSON.stringify(read?.correlations)).toBe(JSON.stringify(correlations));
      const chunks = await partitionItems(table, 'set-x', 'CORR#');
      const bytes = chunks.map((chunk) => chunk.correlationMatrix?.B?.length ?? 0);
      for (const size of bytes) expect(size).toBeLessThanOrEqual(350_000);
      expect(chunks.every((chunk) => chunk.correlationPart === undefined)).toBe(true);
      // 16 bytes of exact ρ a pair, little else: about 15× smaller than the JSON (10,179,515 bytes, 30 chunks).
      expect(bytes.reduce((a, b) => a + b, 0)).toBeLessThan(800_000);
      expect(chunks.length).toBe(2);
    }, 120_000);

    it('refuses a set whose correlation chunk is missing or altered, naming the set and the chunk', async () => {
      const { table, store } = await freshStore();
      await store.publishSet(whole, undefined);
      const [first] = await partitionItems(table, 'set-x', 'CORR#0001');
      const altered = Uint8Array.from(first?.correlationMatrix?.B ?? []);
      altered[1000] = ((altered[1000] ?? 0) + 1) % 256; // one bit of one ρ
      await db.local.client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: 'SET#set-x' }, sk: { S: 'CORR#0001' } },
          UpdateExpression: 'SET correlationMatrix = :bytes',
          ExpressionAttributeValues: { ':bytes': { B: altered } },
        }),
      );
      await expect(store.currentSet()).rejects.toThrow(
        /threshold set set-x: its correlation chunks do not make the correlations stored .*higher margins/,
      );
      await db.local.client.send(
        new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'SET#set-x' }, sk: { S: 'CORR#0002' } } }),
      );
      await expect(store.currentSet()).rejects.toThrow(
        /threshold set set-x: correlation chunk CORR#0002 \(2 of 2\) is missing.*higher margins/,
      );
    }, 120_000);

    it('still reads sets written before the matrix: JSON chunks, and JSON inline in META', async () => {
      const { table, store } = await freshStore();
      const chunked = await writeOldForm(table, whole, 'chunks');
      expect(chunked).toBeGreaterThan(20);
      await expect(new DynamoDbThresholdStore(db.local.client, table).currentSet()).resolves.toStrictEqual(
        whole,
      );
      const small = exchangeSet('set-y', 12, 'set-x');
      await writeOldForm(table, small, 'inline');
      await expect(store.currentSet()).resolves.toStrictEqual(small);
    }, 120_000);

    it('measures what one read of the set costs, before (JSON) and after (matrix), at 30, 100 and 300', async () => {
      const rows: string[] = [];
      const figures: Record<string, { items: number; bytes: number; units: number }> = {};
      for (const n of [30, 100, 300]) {
        for (const form of ['json', 'matrix'] as const) {
          const set = exchangeSet(`set-${n}`, n);
          const { table, store } = await freshStore();
          if (form === 'matrix') await store.publishSet(set, undefined);
          else await writeOldForm(table, set, 'chunks');
          // What a sweep worker's `currentSet()` reads: the pointer, then the set's partition.
          const read = await measuredRead(table, set.setId);
          await expect(store.currentSet()).resolves.toStrictEqual(set);
          figures[`${form}-${n}`] = read;
          rows.push(
            `| ${n} | ${form} | ${read.items} (${read.correlationItems} CORR#) | ${read.correlationBytes.toLocaleString('en-US')} | ` +
              `${read.bytes.toLocaleString('en-US')} | ${read.pages} | ${read.units} |`,
          );
        }
      }
      // The table docs/SCALE.md quotes.
      console.info(
        [
          '| instruments | form | items read | correlation bytes | bytes read | Query pages | read units (consistent) |',
          ...rows,
        ].join('\n'),
      );
      // At 30 the thresholds themselves are most of the read; from 100 the correlations were.
      for (const [n, factor] of [
        [30, 2],
        [100, 5],
        [300, 8],
      ] as const) {
        const before = figures[`json-${n}`] as { units: number };
        const after = figures[`matrix-${n}`] as { units: number };
        expect(after.units).toBeLessThan(before.units / factor);
      }
    }, 300_000);
  });
});

/**
 * A set of `n` instruments with every pair's correlations as the estimator writes them: full-precision ρ
 * (seeded), a few young pairs refused or with thin stress windows, and a held instrument's refused pairs.
 */
function exchangeSet(setId: string, n: number, previousSetId?: string): ThresholdSet {
  const instruments = Array.from({ length: n }, (_, i) => `SYM${String(i).padStart(3, '0')}-PERP`);
  const next = seededRandom(n);
  const rho = () => Math.max(-1, Math.min(1, Math.sin(next() * 1e6 + next())));
  const correlations: PairCorrelation[] = instruments.flatMap((a, i) =>
    instruments.slice(i + 1).map((b, j): PairCorrelation => {
      const name = `${a}/${b}`;
      if (i === 1) return { a, b, refused: `${name}: ${a} was held, its data unusable` };
      const lookback = { rho: rho(), days: 730 - (j % 3), from: '2022-03-01', to: '2024-02-29' };
      if (j % 97 === 5) {
        return {
          a,
          b,
          lookback: { ...lookback, days: 41 },
          refused: `${name}: 41 common daily returns, fewer than 60`,
        };
      }
      if (j % 89 === 7) {
        return {
          a,
          b,
          lookback,
          rho: lookback.rho,
          stressedThin: `${name}: 3 common daily returns in the stress windows, fewer than 5`,
        };
      }
      const stressed = { rho: rho(), days: 9, from: '2020-03-12', to: '2022-11-09' };
      return { a, b, lookback, stressed, rho: Math.min(lookback.rho, stressed.rho) };
    }),
  );
  return { ...sampleSet(setId, instruments, previousSetId ? { previousSetId } : {}), correlations };
}

async function partitionItems(table: string, setId: string, prefix: string): Promise<Item[]> {
  return (await partitionRead(table, setId, prefix)).items;
}

/** The set's items (those whose sort key starts with `prefix`), with the Query's pages and read units. */
async function partitionRead(table: string, setId: string, prefix: string) {
  const found: Item[] = [];
  let pages = 0;
  let units = 0;
  let startKey: Item | undefined;
  do {
    const page = await db.local.client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: prefix === '' ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': { S: `SET#${setId}` },
          ...(prefix !== '' && { ':prefix': { S: prefix } }),
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    pages += 1;
    units += page.ConsumedCapacity?.CapacityUnits ?? Number.NaN;
    found.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { items: found, pages, units };
}

/**
 * A set as the store wrote it before the binary matrix: its correlations as JSON, in `correlationPart`
 * chunks named by META's `correlationChunks` and `correlationsHash` (no `correlationEncoding`), or the
 * oldest form, `correlations` inline in META. Written through the store without correlations, then given
 * them by hand, as the old writer left them.
 */
async function writeOldForm(table: string, set: ThresholdSet, form: 'chunks' | 'inline'): Promise<number> {
  const { correlations, ...bare } = set;
  await new DynamoDbThresholdStore(db.local.client, table).publishSet(bare, set.previousSetId);
  const text = JSON.stringify(correlations);
  const key = { pk: { S: `SET#${set.setId}` }, sk: { S: 'META' } };
  if (form === 'inline') {
    await db.local.client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET correlations = :text',
        ExpressionAttributeValues: { ':text': { S: text } },
      }),
    );
    return 0;
  }
  const parts = bodyParts(text);
  for (let i = 0; i < parts.length; i += 25) {
    await db.local.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [table]: parts.slice(i, i + 25).map((part, k) => ({
            PutRequest: {
              Item: {
                pk: key.pk,
                sk: { S: `CORR#${String(i + k + 1).padStart(4, '0')}` },
                correlationPart: { S: part },
              },
            },
          })),
        },
      }),
    );
  }
  await db.local.client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      UpdateExpression: 'SET correlationChunks = :count, correlationsHash = :hash',
      ExpressionAttributeValues: { ':count': { N: String(parts.length) }, ':hash': { S: bodyHash(text) } },
    }),
  );
  return parts.length;
}

/**
 * One read of the set's partition as `currentSet()` sends it (consistent, every item), with what it costs:
 * the read units DynamoDB Local reports for the Query (billed as DynamoDB does: the items' sizes per page,
 * rounded up to 4 KB, one unit per 4 KB when consistent), plus the pointer's consistent GetItem (one unit).
 */
async function measuredRead(table: string, setId: string) {
  const { items, pages, units } = await partitionRead(table, setId, '');
  const bytes = items.reduce((sum, item) => sum + itemBytes(item), 0);
  const correlationItems = items.filter((item) => item.sk?.S?.startsWith('CORR#'));
  const correlationBytes = correlationItems.reduce(
    (sum, item) =>
      sum + (item.correlationMatrix?.B?.length ?? Buffer.byteLength(item.correlationPart?.S ?? '')),
    0,
  );
  return {
    items: items.length,
    correlationItems: correlationItems.length,
    correlationBytes,
    bytes,
    pages,
    units: 1 + units,
  };
}
