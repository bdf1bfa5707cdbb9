import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, divideRounded, type RoundingMode } from '../../../lib/domain/valuation/decimal.ts';
import {
  amountToNumber,
  compareUnits,
  FLOAT_SLACK,
  formatUnits,
  parseUnits,
  ratioUnitsFloor,
  subtractUnits,
  UnitSum,
  unitsDown,
  unitsUp,
} from '../../../lib/domain/valuation/money.ts';

describe('divideRounded', () => {
  it.each([
    // n, d, floor, ceil, down, up, half-even
    [7n, 2n, 3n, 4n, 3n, 4n, 4n],
    [5n, 2n, 2n, 3n, 2n, 3n, 2n],
    [-7n, 2n, -4n, -3n, -3n, -4n, -4n],
    [-5n, 2n, -3n, -2n, -2n, -3n, -2n],
    [7n, 3n, 2n, 3n, 2n, 3n, 2n],
    [8n, 3n, 2n, 3n, 2n, 3n, 3n],
    [6n, 3n, 2n, 2n, 2n, 2n, 2n],
  ])('%d / %d', (n, d, floor, ceil, down, up, halfEven) => {
    const modes: [RoundingMode, bigint][] = [
      ['floor', floor],
      ['ceil', ceil],
      ['down', down],
      ['up', up],
      ['half-even', halfEven],
    ];
    for (const [mode, expected] of modes) expect(divideRounded(n, d, mode), mode).toBe(expected);
  });

  it('refuses a divisor that is not positive', () => {
    expect(() => divideRounded(1n, 0n, 'floor')).toThrow(RangeError);
  });
});

describe('Decimal', () => {
  it('adds decimal fractions exactly where floats do not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(Decimal.parse('0.1').add(Decimal.parse('0.2')).toString()).toBe('0.3');
  });

  it('parses and prints without losing digits (38-digit record amounts)', () => {
    expect(Decimal.parse('-1250.5').toString()).toBe('-1250.5');
    expect(Decimal.parse('12345678901234567890.123456789012345678').toString()).toBe(
      '12345678901234567890.123456789012345678',
    );
    expect(Decimal.parse('+3').toFixed(2)).toBe('3.00');
    expect(Decimal.parse('0').toString()).toBe('0');
  });

  it('rounds a fraction longer than 18 places by the mode', () => {
    const text = '0.1000000000000000055511151231257827';
    expect(Decimal.parse(text, 'floor').toString()).toBe('0.100000000000000005');
    expect(Decimal.parse(text, 'ceil').toString()).toBe('0.100000000000000006');
    expect(Decimal.parse(text, 'half-even').toString()).toBe('0.100000000000000006');
    expect(Decimal.parse('-0.0000000000000000005', 'half-even').toString()).toBe('0');
    expect(Decimal.parse('-0.0000000000000000015', 'half-even').toString()).toBe('-0.000000000000000002');
  });

  it('rejects what is not a decimal string', () => {
    for (const text of ['', '1e5', '1.', '.5', 'abc', '1,000'])
      expect(() => Decimal.parse(text)).toThrow(RangeError);
  });

  it('converts a float from its exact binary value (0.1 is 0.10000000000000000555…)', () => {
    // 0.1 is 0.1000000000000000055511151231257827… in binary64.
    expect(Decimal.fromNumber(0.1, 'floor').toString()).toBe('0.100000000000000005');
    expect(Decimal.fromNumber(0.1, 'ceil').toString()).toBe('0.100000000000000006');
    expect(Decimal.fromNumber(-0.1, 'floor').toString()).toBe('-0.100000000000000006');
    expect(Decimal.fromNumber(0.5).toString()).toBe('0.5');
    expect(Decimal.fromNumber(2 ** 70).toString()).toBe('1180591620717411303424');
    expect(Decimal.fromNumber(5e-324, 'ceil').toString()).toBe('0.000000000000000001');
    expect(Decimal.fromNumber(5e-324, 'floor').toString()).toBe('0');
    expect(() => Decimal.fromNumber(Number.NaN)).toThrow(RangeError);
  });

  it('round-trips floats through toNumber', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), (x) => {
        const d = Decimal.fromNumber(x, 'half-even');
        expect(Math.abs(d.toNumber() - x)).toBeLessThanOrEqual(1e-18 + Math.abs(x) * 2 ** -52);
      }),
    );
  });

  it('multiplies and divides with the rounding asked for', () => {
    const two = Decimal.parse('2');
    const three = Decimal.parse('3');
    expect(two.div(three, 'floor').toString()).toBe('0.666666666666666666');
    expect(two.div(three, 'ceil').toString()).toBe('0.666666666666666667');
    expect(two.div(three.neg(), 'floor').toString()).toBe('-0.666666666666666667');
    expect(Decimal.parse('1.5').mul(Decimal.parse('-2.25')).toString()).toBe('-3.375');
    expect(() => two.div(Decimal.ZERO)).toThrow(RangeError);
  });

  it('rounds to fewer places: half-even ties go to the even neighbour', () => {
    expect(Decimal.parse('2.345').toFixed(2, 'half-even')).toBe('2.34');
    expect(Decimal.parse('2.355').toFixed(2, 'half-even')).toBe('2.36');
    expect(Decimal.parse('-2.345').toFixed(2, 'floor')).toBe('-2.35');
    expect(Decimal.parse('-2.345').toFixed(2, 'ceil')).toBe('-2.34');
    expect(Decimal.parse('135696.4').round(0, 'ceil').toString()).toBe('135697');
    expect(() => Decimal.ONE.toFixed(19)).toThrow(RangeError);
  });

  it('compares, signs and bounds', () => {
    const a = Decimal.parse('-1.5');
    const b = Decimal.parse('2');
    expect(a.compare(b)).toBe(-1);
    expect(b.compare(a)).toBe(1);
    expect(a.compare(Decimal.parse('-1.50'))).toBe(0);
    expect(a.sign()).toBe(-1);
    expect(Decimal.ZERO.isZero()).toBe(true);
    expect(a.abs().toString()).toBe('1.5');
    expect(a.max(b)).toBe(b);
    expect(a.min(b)).toBe(a);
  });

  it('sums are exact and order-independent (property)', () => {
    const amount = fc
      .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }))
      .map(([units, scale]) => Decimal.fromUnits(units, scale));
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 20 }), (amounts) => {
        const forward = amounts.reduce((s, x) => s.add(x), Decimal.ZERO);
        const backward = [...amounts].reverse().reduce((s, x) => s.add(x), Decimal.ZERO);
        expect(forward.compare(backward)).toBe(0);
        expect(Decimal.parse(forward.toString()).compare(forward)).toBe(0);
      }),
    );
  });
});

describe('money units (8 dp)', () => {
  it('formats with exactly 8 decimals', () => {
    expect(formatUnits(0)).toBe('0.00000000');
    expect(formatUnits(-150)).toBe('-0.00000150');
    expect(formatUnits(16_000_000_000)).toBe('160.00000000');
    expect(formatUnits(123456789012345678901234567890n)).toBe('1234567890123456789012.34567890');
    expect(() => formatUnits(2 ** 60)).toThrow(RangeError);
  });

  it('rounds toward safety away from 8-dp boundaries and snaps float noise onto them', () => {
    expect(unitsUp(1.000000001)).toBe(100_000_001);
    expect(unitsDown(1.000000009)).toBe(100_000_000);
    expect(unitsDown(-1.000000001)).toBe(-100_000_001);
    expect(unitsUp(-1.000000009)).toBe(-100_000_000);
    // 3 × 0.1 is 0.30000000000000004 in floats: that is float noise, not a requirement above 0.3.
    expect(3 * 0.1).not.toBe(0.3);
    expect(unitsUp(3 * 0.1, 3)).toBe(30_000_000);
    expect(Math.ceil(3 * 0.1 * 1e8)).toBe(30_000_001);
    expect(unitsDown(0.1) + unitsDown(0.2)).toBe(30_000_000);
    expect(() => unitsUp(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => unitsDown(Number.NaN)).toThrow(RangeError);
  });

  it('never errs against safety by more than FLOAT_SLACK × magnitude (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e10, noNaN: true }),
        (x, magnitude) => {
          const bound = Math.max(magnitude, Math.abs(x)) * FLOAT_SLACK * 1e8;
          const scaled = x * 1e8;
          const up = unitsUp(x, magnitude);
          const down = unitsDown(x, magnitude);
          expect(up).toBeGreaterThanOrEqual(scaled - bound - 1e-6 * Math.abs(scaled) * 2 ** -40);
          expect(down).toBeLessThanOrEqual(scaled + bound + 1e-6 * Math.abs(scaled) * 2 ** -40);
          expect(up - scaled).toBeLessThan(1 + 1e-6);
          expect(scaled - down).toBeLessThan(1 + 1e-6);
        },
      ),
    );
  });

  it('sums exactly beyond 2^53 units by spilling into a BigInt', () => {
    const sum = new UnitSum();
    sum.add(2 ** 53 - 1);
    sum.add(2);
    sum.add(-1);
    expect(sum.total()).toBe(2n ** 53n);
    sum.add(-(2 ** 53));
    expect(sum.total()).toBe(0);
    const big = new UnitSum();
    big.add(1e20);
    big.add(1);
    expect(big.total()).toBe(10n ** 20n + 1n);
    expect(() => big.add(Number.NaN)).toThrow(RangeError);
  });

  it('matches an exact BigInt sum (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), { maxLength: 50 }), (terms) => {
        const sum = new UnitSum();
        for (const t of terms) sum.add(t * 1024);
        const exact = terms.reduce((s, t) => s + BigInt(t) * 1024n, 0n);
        expect(BigInt(sum.total())).toBe(exact);
      }),
    );
  });

  it('subtracts and compares mixed numbers and BigInts exactly', () => {
    expect(subtractUnits(5, 7)).toBe(-2);
    expect(subtractUnits(2 ** 53 - 1, -(2 ** 53 - 1))).toBe(2n ** 54n - 2n);
    expect(subtractUnits(10n ** 20n, 10n ** 20n)).toBe(0);
    expect(compareUnits(10n ** 20n, 5)).toBe(1);
    expect(compareUnits(-3, 2)).toBe(-1);
    expect(compareUnits(4, 4n)).toBe(0);
  });

  it('parses decimal strings to units exactly, rounding down beyond 8 places (property vs BigInt)', () => {
    expect(parseUnits('0')).toBe(0);
    expect(parseUnits('-1250.5')).toBe(-125_050_000_000);
    expect(parseUnits('123456789012.12345678')).toBe(12_345_678_901_212_345_678n);
    expect(parseUnits('0.123456789')).toBe(12_345_678);
    expect(parseUnits('-0.123456789')).toBe(-12_345_679);
    for (const bad of ['', '-', '1.', '.5', '+1', '1e5', '0x10', ' 1', '1_000']) {
      expect(() => parseUnits(bad), bad).toThrow(RangeError);
    }
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.stringMatching(/^[0-9]{1,20}$/),
        fc.option(fc.stringMatching(/^[0-9]{1,14}$/), { nil: undefined }),
        (negative, integer, fraction) => {
          const text = `${negative ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}`;
          const scaled = BigInt(`${integer}${(fraction ?? '').padEnd(14, '0')}`); // × 10¹⁴
          const exact = negative ? -scaled : scaled;
          const floor = exact / 1_000_000n - (exact < 0n && exact % 1_000_000n !== 0n ? 1n : 0n);
          expect(BigInt(parseUnits(text))).toBe(floor);
        },
      ),
    );
  });

  it('parses 8-decimal amounts on both sides of 2⁵³ units (the float fast path and the BigInt path) exactly', () => {
    // 2⁵³ units = 90,071,992.54740992: below it parseUnits answers in a float, from it in a BigInt.
    expect(parseUnits('90071992.54740991')).toBe(2 ** 53 - 1);
    expect(parseUnits('90071992.54740992')).toBe(2n ** 53n);
    expect(parseUnits('-90071992.54740993')).toBe(-(2n ** 53n) - 1n);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 0n, max: 10n ** 30n })),
        fc.bigInt({ min: 0n, max: 99_999_999n }),
        fc.integer({ min: 1, max: 8 }),
        (negative, integer, fraction, places) => {
          // `places` decimals (trailing digits dropped), so short fractions take the fast path too.
          const digits = fraction.toString().padStart(8, '0').slice(0, places);
          const text = `${negative ? '-' : ''}${integer}.${digits}`;
          const units = integer * 100_000_000n + BigInt(digits.padEnd(8, '0'));
          const expected = negative ? -units : units;
          const got = parseUnits(text);
          expect(BigInt(got)).toBe(expected);
          // A float exactly when it is a safe integer, so linear accounts touch no BigInt.
          expect(typeof got).toBe(
            expected >= -9_007_199_254_740_991n && expected <= 9_007_199_254_740_991n ? 'number' : 'bigint',
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads record amounts as floats exactly as Number() does (amountToNumber, property)', () => {
    const same = (text: string): void => {
      expect(Object.is(amountToNumber(text), Number(text)), JSON.stringify(text)).toBe(true);
    };
    // Texts outside the fast path are left to Number(), whatever they are.
    for (const text of [
      '',
      '-',
      '.',
      '-.',
      '.5',
      '5.',
      '-5.',
      '-0',
      '0',
      '000',
      '+1',
      '1e5',
      '1E-3',
      ' 1',
      '1 ',
    ]) {
      same(text);
    }
    for (const text of ['0x10', 'Infinity', '-Infinity', 'NaN', '1.2.3', '--1', '1-', '1_000', '١'])
      same(text);
    // 15 digits (the fast path's limit) and 16, where a correctly rounded parse matters.
    for (const text of ['999999999999999', '9999999999999999', '9007199254740993', '0.000000000000001']) {
      same(text);
      same(`-${text}`);
    }
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.stringMatching(/^[0-9]{1,20}$/),
        fc.option(fc.stringMatching(/^[0-9]{1,16}$/), { nil: undefined }),
        (negative, integer, fraction) =>
          same(`${negative ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}`),
      ),
      { numRuns: 5000 },
    );
    // Amounts as records hold them: quantities and prices with up to 8 decimals, any sign, any size.
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        fc.integer({ min: 0, max: 8 }),
        (x, places) => same(x.toFixed(places)),
      ),
      { numRuns: 5000 },
    );
  });

  it('divides ratios down to 8 places exactly, also at exact values like 1.35', () => {
    expect(formatUnits(ratioUnitsFloor(1_215_000_000_000, 900_000_000_000))).toBe('1.35000000');
    expect(formatUnits(ratioUnitsFloor(2, 3))).toBe('0.66666666');
    expect(formatUnits(ratioUnitsFloor(-2, 3))).toBe('-0.66666667');
    expect(formatUnits(ratioUnitsFloor(10n ** 30n, 3))).toBe('333333333333333333333333333333.33333333');
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
        fc.integer({ min: 1, max: 2 ** 53 - 1 }),
        (n, d) => {
          const exact = (BigInt(n) * 100_000_000n) / BigInt(d);
          const floor = (BigInt(n) * 100_000_000n) % BigInt(d) !== 0n && n < 0 ? exact - 1n : exact;
          expect(BigInt(ratioUnitsFloor(n, d))).toBe(floor);
        },
      ),
    );
  });
});
