import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeCorrelationMatrix,
  encodeCorrelationMatrix,
} from '../../../lib/adapters/dynamodb/correlation-matrix.ts';
import { QmtError } from '../../../lib/domain/errors.ts';
import type { PairCorrelation } from '../../../lib/domain/threshold/correlation.ts';

const WHAT = 'set set-a, correlations';
const lookback = (rho: number, days = 730) => ({ rho, days, from: '2022-03-01', to: '2024-02-29' });
const stressed = (rho: number, days = 9) => ({ rho, days, from: '2020-03-12', to: '2022-11-09' });

/** Every shape the estimator and the recalibration write, in the estimator's field order. */
const EVERY_SHAPE: PairCorrelation[] = [
  { a: 'BTC', b: 'ETH', lookback: lookback(0.8123456789012345), stressed: stressed(0.7), rho: 0.7 },
  { a: 'BTC', b: 'SOL', lookback: lookback(0.1 + 0.2), stressed: stressed(0.9), rho: 0.1 + 0.2 },
  {
    a: 'BTC',
    b: 'XRP',
    lookback: lookback(0.4, 200_000),
    rho: 0.4,
    stressedThin: 'BTC/XRP: 3 common daily returns in the stress windows, fewer than 5',
  },
  {
    a: 'ETH',
    b: 'SOL',
    lookback: lookback(-0, 12),
    stressed: stressed(Number.MIN_VALUE, 2),
    refused: 'ETH/SOL: 12 common daily returns, fewer than 60',
  },
  { a: 'ETH', b: 'XRP', refused: 'ETH/XRP: XRP was held, its data unusable' },
  // A ρ of its own (neither estimate's): kept as a Float64 of its own.
  { a: 'SOL', b: 'XRP', lookback: lookback(-1), stressed: stressed(1), rho: -0.123456789 },
];

describe('correlation matrix encoding', () => {
  it('gives back exactly the pairs written: every field, -0, tiny and huge values, the same JSON', () => {
    const back = decodeCorrelationMatrix(encodeCorrelationMatrix(EVERY_SHAPE, WHAT), WHAT);
    expect(back).toStrictEqual(EVERY_SHAPE);
    expect(JSON.stringify(back)).toBe(JSON.stringify(EVERY_SHAPE));
    expect(Object.is(back[3]?.lookback?.rho, -0)).toBe(true);
  });

  it('keeps a list that is not the instrument matrix row by row (order, gaps, a repeated pair)', () => {
    const listed = [EVERY_SHAPE[4], EVERY_SHAPE[0], EVERY_SHAPE[0], EVERY_SHAPE[5]] as PairCorrelation[];
    expect(decodeCorrelationMatrix(encodeCorrelationMatrix(listed, WHAT), WHAT)).toStrictEqual(listed);
    expect(decodeCorrelationMatrix(encodeCorrelationMatrix([], WHAT), WHAT)).toStrictEqual([]);
  });

  it('stores the upper triangle without pair positions: 16 bytes of ρ and a few of the rest per pair', () => {
    const symbols = Array.from({ length: 100 }, (_, i) => `SYM${i}`);
    const pairs = symbols.flatMap((a, i) =>
      symbols.slice(i + 1).map((b, j) => {
        const l = Math.sin(i * 7919 + j);
        const s = Math.cos(i * 104_729 + j);
        return { a, b, lookback: lookback(l), stressed: stressed(s), rho: Math.min(l, s) };
      }),
    );
    const body = encodeCorrelationMatrix(pairs, WHAT);
    expect(decodeCorrelationMatrix(body, WHAT)).toStrictEqual(pairs);
    expect(pairs).toHaveLength(4950);
    expect(body.length / pairs.length).toBeLessThan(18);
    expect(body.length).toBeLessThan(JSON.stringify(pairs).length / 10);
  });

  it.each([
    [
      'a ρ that is not finite',
      { a: 'A', b: 'B', rho: Number.NaN },
      /correlations: rho is NaN, which cannot be stored \(pair A\/B\)/,
    ],
    [
      'an estimate ρ that is infinite',
      { a: 'A', b: 'B', lookback: lookback(Number.POSITIVE_INFINITY) },
      /rho is Infinity.*pair A\/B/,
    ],
    [
      'a day count that is not whole',
      { a: 'A', b: 'B', stressed: stressed(0.5, 9.5) },
      /stressed\.days is 9\.5, not a whole number of days.*pair A\/B/,
    ],
    ['a negative day count', { a: 'A', b: 'B', lookback: lookback(0.5, -1) }, /lookback\.days is -1/],
    [
      'a field the layout does not know',
      { a: 'A', b: 'B', note: 'x' },
      /note is not a correlation field.*pair A\/B/,
    ],
  ])('refuses %s, naming the pair, rather than store something else', (_what, pair, message) => {
    expect(() => encodeCorrelationMatrix([EVERY_SHAPE[0], pair] as PairCorrelation[], WHAT)).toThrow(message);
    expect(() => encodeCorrelationMatrix([pair] as PairCorrelation[], WHAT)).toThrow(QmtError);
  });

  it('refuses a body it did not write or that is cut short, naming the set', () => {
    const body = inflateRawSync(encodeCorrelationMatrix(EVERY_SHAPE, WHAT));
    const read = (bytes: Uint8Array) => () => decodeCorrelationMatrix(deflateRawSync(bytes), WHAT);
    expect(() => decodeCorrelationMatrix(Uint8Array.from([1, 2, 3]), WHAT)).toThrow(
      /^set set-a, correlations: the stored correlation matrix cannot be read \(not deflated data\)$/,
    );
    expect(read(body.subarray(0, body.length - 3))).toThrow(/cannot be read \(cut short/);
    expect(read(Uint8Array.from([...body, 0]))).toThrow(/1 bytes after its last integer/);
    const otherVersion = Uint8Array.from(body);
    otherVersion[4] = 2;
    expect(read(otherVersion)).toThrow(/version 2, this reader knows 1/);
    expect(read(Buffer.from('{"not":"a matrix"}'))).toThrow(/no QMTC header/);
  });
});
