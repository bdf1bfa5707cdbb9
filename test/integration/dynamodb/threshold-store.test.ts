import { DeleteItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ItemLimitError } from '../../../lib/adapters/dynamodb/limits.ts';
import { thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { ThresholdSetConflictError } from '../../../lib/domain/errors.ts';
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

  describe('a whole exchange’s correlations (300 instruments, 44,850 pairs, about 9.5 MB as JSON)', () => {
    const instruments = Array.from({ length: 300 }, (_, i) => `SYM${String(i).padStart(3, '0')}-PERP`);
    const correlations: PairCorrelation[] = instruments.flatMap((a, i) =>
      instruments.slice(i + 1).map((b, j) => ({
        a,
        b,
        lookback: {
          rho: 0.8123456789012345 - (i + j) / 1e5,
          days: 730,
          from: '2022-03-01',
          to: '2024-02-29',
        },
        stressed: { rho: 0.7000000000000001 - j / 1e6, days: 9, from: '2020-03-12', to: '2022-11-09' },
        rho: 0.7000000000000001 - j / 1e6,
      })),
    );
    const whole: ThresholdSet = { ...sampleSet('set-x', instruments), correlations };

    async function chunkItems(table: string) {
      const found = [];
      let startKey: Record<string, never> | undefined;
      do {
        const page = await db.local.client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :corr)',
            ExpressionAttributeValues: { ':pk': { S: 'SET#set-x' }, ':corr': { S: 'CORR#' } },
            ProjectionExpression: 'sk, correlationPart',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        found.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey as typeof startKey;
      } while (startKey);
      return found;
    }

    it('stores and reads back every pair exactly, in chunk items under 350 KB outside the META item', async () => {
      expect(correlations).toHaveLength(44_850);
      const { table, store } = await freshStore();
      await store.publishSet(whole, undefined);
      await expect(store.currentSet()).resolves.toEqual(whole);
      const chunks = await chunkItems(table);
      const bytes = chunks.map((chunk) => Buffer.byteLength(chunk.correlationPart?.S ?? '', 'utf8'));
      for (const size of bytes) expect(size).toBeLessThanOrEqual(350_000);
      // The figure docs/SCALE.md quotes.
      console.info(
        `300 instruments: ${correlations.length} pairs, ${bytes.reduce((a, b) => a + b, 0)} bytes in ${chunks.length} chunk items`,
      );
      expect(chunks.length).toBeGreaterThan(1);
    }, 120_000);

    it('refuses a set whose correlation chunk is missing or altered, naming the set and the chunk', async () => {
      const { table, store } = await freshStore();
      await store.publishSet(whole, undefined);
      await db.local.client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: 'SET#set-x' }, sk: { S: 'CORR#0001' } },
          UpdateExpression: 'SET correlationPart = :text',
          ExpressionAttributeValues: { ':text': { S: '[]' } },
        }),
      );
      await expect(store.currentSet()).rejects.toThrow(
        /threshold set set-x: its correlation chunks do not make the correlations stored .*higher margins/,
      );
      await db.local.client.send(
        new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'SET#set-x' }, sk: { S: 'CORR#0002' } } }),
      );
      await expect(store.currentSet()).rejects.toThrow(
        /threshold set set-x: correlation chunk CORR#0002 \(2 of \d+\) is missing.*higher margins/,
      );
    }, 120_000);
  });
});
