/**
 * Money on the valuation's hot path: integer counts of minor units (10⁻⁸ of the quote currency, so every
 * output has exactly 8 decimal places), summed exactly.
 *
 * Per-position arithmetic (P&L, option values, scenario losses, requirements) runs in float64. Each result
 * x becomes minor units once, with `magnitude` bounding the size of the values that produced it (for a
 * P&L q·(F − E) it is |q|·(F + E), so cancellation is covered). Its float error is at most
 * e = FLOAT_SLACK × magnitude, FLOAT_SLACK = 2⁻⁴⁴ ≈ 5.7e-14 = 512 unit roundoffs (the formulas here perform
 * a few dozen roundings per term; grid sums pass a magnitude scaled by their term count). Then:
 *
 * - if no 8-dp boundary lies within e of x, the true value has the same floor and ceiling as x, and
 *   `unitsDown` (equity, credits) / `unitsUp` (requirements) return exactly the floor / ceiling of the
 *   TRUE value: rounding toward safety, with no float artefact;
 * - otherwise x is within its error bound of a boundary, and that boundary is returned (so 40,000 × 0.4%
 *   is 160.00000000, not 160.00000001 from the float 160.00000000000003). This can err against safety by
 *   at most e, i.e. 5.7e-14 of the magnitude, far below one minor unit for any amount under $100M.
 *
 * The units are then added exactly: as float integers while the running sum stays a safe integer (|s| <
 * 2⁵³ units ≈ 90 million quote units; exact because an integer sum that small is representable), spilling
 * into a BigInt beyond that. Linear accounts therefore touch no BigInt at all.
 */
import { formatScaled } from './decimal.ts';

/** Decimal places of every money amount the valuation outputs. */
export const MONEY_DECIMALS = 8;
/** Minor units per quote unit. */
export const UNITS_PER_QUOTE = 1e8;
/** Relative float error bound used when rounding a float to minor units (2⁻⁴⁴). */
export const FLOAT_SLACK = 2 ** -44;

const SLACK_UNITS = UNITS_PER_QUOTE * FLOAT_SLACK;
const UNITS_BIG = 100_000_000n;

function toUnits(x: number, magnitude: number, up: boolean): number {
  const scaled = x * UNITS_PER_QUOTE;
  if (!Number.isFinite(scaled)) throw new RangeError(`amount is not finite: ${x}`);
  const nearest = Math.round(scaled);
  const bound = Math.max(magnitude, Math.abs(x)) * SLACK_UNITS;
  if (Math.abs(scaled - nearest) <= bound) return nearest;
  return up ? Math.ceil(scaled) : Math.floor(scaled);
}

/**
 * Minor units of x rounded toward −∞ (equity terms, credits): ⌊x·10⁸⌋ of the true value, or the nearest
 * unit when x is within its float error bound (FLOAT_SLACK × magnitude) of one. Throws a RangeError if x is
 * not finite.
 */
export function unitsDown(x: number, magnitude = 0): number {
  return toUnits(x, magnitude, false);
}

/** Minor units of x rounded toward +∞ (requirements); as `unitsDown` otherwise. */
export function unitsUp(x: number, magnitude = 0): number {
  return toUnits(x, magnitude, true);
}

/** An integer number of minor units: a float while it is a safe integer, else a BigInt. */
export type Units = number | bigint;

/**
 * An exact running sum of integer minor units. `add` takes integer-valued floats (from `unitsDown`/`unitsUp`)
 * of any size; the sum is exact.
 *
 * @example
 * const sum = new UnitSum();
 * sum.add(unitsDown(0.1)); sum.add(unitsDown(0.2));
 * formatUnits(sum.total()); // '0.30000000'
 */
export class UnitSum {
  private small = 0;
  private big = 0n;

  /** Back to zero (for reuse). */
  reset(): this {
    this.small = 0;
    this.big = 0n;
    return this;
  }

  add(units: number): void {
    const sum = this.small + units;
    // Exact when it is a safe integer: the true sum of two integers that small is representable.
    if (Number.isSafeInteger(sum)) this.small = sum;
    else this.big += BigInt(units);
  }

  /** Add units that may be a BigInt (from `parseUnits`). */
  addUnits(units: Units): void {
    if (typeof units === 'number') this.add(units);
    else this.big += units;
  }

  /** The exact total: a float when it is a safe integer. */
  total(): Units {
    if (this.big === 0n) return this.small;
    return normalise(this.big + BigInt(this.small));
  }
}

/** A BigInt that fits as a safe integer becomes a float. */
export function normalise(units: bigint): Units {
  return units >= -9007199254740991n && units <= 9007199254740991n ? Number(units) : units;
}

function toBig(units: Units): bigint {
  return typeof units === 'bigint' ? units : BigInt(units);
}

/** a − b, exactly. */
export function subtractUnits(a: Units, b: Units): Units {
  if (typeof a === 'number' && typeof b === 'number') {
    const difference = a - b;
    if (Number.isSafeInteger(difference)) return difference;
  }
  return normalise(toBig(a) - toBig(b));
}

/** −1, 0 or 1 as a is below, equal to or above b. */
export function compareUnits(a: Units, b: Units): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const x = toBig(a);
  const y = toBig(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Minor units as text with exactly 8 decimals: `formatUnits(-150) === '-0.00000150'`. */
export function formatUnits(units: Units): string {
  if (typeof units === 'number') {
    if (!Number.isSafeInteger(units)) throw new RangeError(`not a safe integer number of units: ${units}`);
    const negative = units < 0;
    const digits = String(negative ? -units : units).padStart(MONEY_DECIMALS + 1, '0');
    const text = `${digits.slice(0, -MONEY_DECIMALS)}.${digits.slice(-MONEY_DECIMALS)}`;
    return negative ? `-${text}` : text;
  }
  return formatScaled(units, MONEY_DECIMALS);
}

/**
 * ⌊numerator × 10⁸ / denominator⌋ for denominator > 0, exactly: a ratio in minor units (8 dp), rounded
 * down (toward safety for a margin ratio). The float quotient is used when it is provably on the right side
 * of its floor; otherwise (an exact or near-exact 8-dp value like 1.35) BigInt decides.
 */
export function ratioUnitsFloor(numerator: Units, denominator: Units): Units {
  if (typeof numerator === 'number' && typeof denominator === 'number') {
    if (denominator <= 0) throw new RangeError('denominator must be positive');
    const scaled = (numerator / denominator) * UNITS_PER_QUOTE;
    const floor = Math.floor(scaled);
    const margin = Math.abs(scaled) * 2 ** -50; // > the error of two correctly rounded operations
    if (Math.abs(scaled) < 2 ** 52 && scaled - floor > margin && floor + 1 - scaled > margin) return floor;
  }
  const n = toBig(numerator) * UNITS_BIG;
  const d = toBig(denominator);
  if (d <= 0n) throw new RangeError('denominator must be positive');
  const q = n / d;
  return normalise(n % d !== 0n && n < 0n ? q - 1n : q);
}

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?$/;
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/**
 * A decimal string as minor units, exactly, rounded toward −∞ beyond 8 places (`'-0.000000015'` → −2).
 * For record amounts that need no float at all (quote-currency collateral). Throws a RangeError on text
 * that is not a plain decimal.
 *
 * @example
 * parseUnits('123456789012.12345678'); // 12345678901212345678n
 */
export function parseUnits(text: string): Units {
  // Fast path: one scan, digits accumulated in a float while they are exact (≤ 15 significant digits).
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 45; // '-'
  let i = negative ? 1 : 0;
  let value = 0;
  let digits = 0;
  let decimals = -1; // −1 before the point
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && decimals < 0 && digits > 0) {
      decimals = 0;
      continue;
    }
    if (c < 48 || c > 57 || decimals >= MONEY_DECIMALS) break;
    value = value * 10 + (c - 48);
    digits++;
    if (decimals >= 0) decimals++;
  }
  if (i === length && digits > 0 && digits <= 15 && decimals !== 0) {
    const units = value * (POWERS_OF_TEN[MONEY_DECIMALS - Math.max(decimals, 0)] as number);
    if (Number.isSafeInteger(units)) return negative ? -units : units;
  }
  return parseUnitsExactly(text);
}

function parseUnitsExactly(text: string): Units {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) throw new RangeError(`not a decimal string: "${text}"`);
  const negative = match[1] === '-';
  const fraction = match[3] ?? '';
  const kept = BigInt(`${match[2]}${fraction.slice(0, MONEY_DECIMALS).padEnd(MONEY_DECIMALS, '0')}`);
  const dropped = /[1-9]/.test(fraction.slice(MONEY_DECIMALS));
  return normalise(negative ? -kept - (dropped ? 1n : 0n) : kept);
}

/** 10⁰ … 10¹⁵, each exact in a float. */
const EXACT_POWERS_OF_TEN = [
  1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/**
 * A record's decimal string as a float: exactly `Number(text)`, for every text, but about twice as fast on
 * the plain decimals records hold (`Number` of a string goes through the runtime; the positions' amounts are
 * most of a linear account's parsing). With at most 15 digits, the digits form an exact integer m < 2⁵³
 * and 10^d (d ≤ 15 decimals) is exact, so m / 10^d is one correctly rounded division: the same float
 * `Number` returns (Clinger's fast path). Anything else (more digits, an exponent, spaces, '.5') is left to
 * `Number`.
 *
 * @example
 * amountToNumber('-0.0001'); // -0.0001, === Number('-0.0001')
 */
export function amountToNumber(text: string): number {
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 45; // '-'
  const start = negative ? 1 : 0;
  let value = 0;
  let point = -1;
  for (let i = start; i < length; i++) {
    const digit = text.charCodeAt(i) - 48; // '.' is −2
    if (digit >= 0 && digit <= 9) value = value * 10 + digit;
    else if (digit === -2 && point < 0) point = i;
    else return Number(text);
  }
  const digits = point < 0 ? length - start : length - start - 1;
  if (digits === 0 || digits > 15 || point === start || point === length - 1) return Number(text);
  const magnitude = point < 0 ? value : value / (EXACT_POWERS_OF_TEN[length - 1 - point] as number);
  return negative ? -magnitude : magnitude;
}

/** Quote amount (a float, for reporting) of a number of minor units. */
export function unitsToNumber(units: Units): number {
  return typeof units === 'number' ? units / UNITS_PER_QUOTE : Number(formatUnits(units));
}
