/**
 * Exact decimal arithmetic for money: a signed BigInt count of 10⁻¹⁸ (`Decimal.SCALE` = 18 places), with
 * every lossy step (parsing a longer fraction, multiplying, dividing, converting a float, rounding to fewer
 * places) taking an explicit rounding mode. The valuation's hot path does not use it (see `money.ts`, which
 * sums integer minor units in floats while they are exact); this type is for the cases where only BigInt is
 * exact, for tests and for callers that want to do exact arithmetic on record amounts.
 */

/**
 * `floor` toward −∞, `ceil` toward +∞, `down` toward 0, `up` away from 0, `half-even` to the nearest with
 * ties to the even neighbour (banker's rounding). Money rounds toward safety: requirements `ceil`, equity
 * and credits `floor`.
 */
export type RoundingMode = 'floor' | 'ceil' | 'down' | 'up' | 'half-even';

const SCALE = 18;
const ONE = 10n ** 18n;
const DECIMAL_TEXT = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** n / d rounded by `mode`; d > 0. */
export function divideRounded(n: bigint, d: bigint, mode: RoundingMode): bigint {
  if (d <= 0n) throw new RangeError('divisor must be positive');
  const q = n / d; // truncates toward zero
  const r = n % d; // has the sign of n
  if (r === 0n) return q;
  const away = n < 0n ? q - 1n : q + 1n;
  switch (mode) {
    case 'down':
      return q;
    case 'up':
      return away;
    case 'floor':
      return n < 0n ? away : q;
    case 'ceil':
      return n < 0n ? q : away;
    case 'half-even': {
      const twice = 2n * (r < 0n ? -r : r);
      if (twice > d) return away;
      if (twice < d) return q;
      return q % 2n === 0n ? q : away;
    }
  }
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

// Views for taking a float64 apart exactly.
const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/**
 * An immutable exact decimal. Construct with `Decimal.parse`, `Decimal.fromNumber` or `Decimal.fromUnits`.
 *
 * @example
 * Decimal.parse('0.1').add(Decimal.parse('0.2')).toString(); // '0.3'
 * Decimal.parse('2').div(Decimal.parse('3'), 'ceil').toFixed(4, 'ceil'); // '0.6667'
 */
export class Decimal {
  /** Decimal places every value is held at. */
  static readonly SCALE = SCALE;
  static readonly ZERO = new Decimal(0n);
  static readonly ONE = new Decimal(ONE);

  /** The value × 10¹⁸, exactly. */
  readonly units: bigint;

  private constructor(units: bigint) {
    this.units = units;
  }

  /** The value units × 10^−scale (scale ≥ 0), rounded by `mode` if scale > 18. */
  static fromUnits(units: bigint, scale: number, mode: RoundingMode = 'half-even'): Decimal {
    if (!Number.isSafeInteger(scale) || scale < 0) throw new RangeError(`scale must be a natural number`);
    if (scale <= SCALE) return new Decimal(units * pow10(SCALE - scale));
    return new Decimal(divideRounded(units, pow10(scale - SCALE), mode));
  }

  /**
   * Parse a decimal string (`-12.5`, `0.1000000000000000055511151231257827`; no exponent). A fraction longer
   * than 18 places is rounded by `mode`. Throws a RangeError on anything else.
   */
  static parse(text: string, mode: RoundingMode = 'half-even'): Decimal {
    const match = DECIMAL_TEXT.exec(text);
    if (!match) throw new RangeError(`not a decimal string: "${text}"`);
    const negative = match[1] === '-';
    const digits = `${match[2] ?? '0'}${match[3] ?? ''}`;
    const places = match[3]?.length ?? 0;
    const magnitude = BigInt(digits);
    return Decimal.fromUnits(negative ? -magnitude : magnitude, places, mode);
  }

  /**
   * The float's exact binary value, rounded to 18 places by `mode`. `fromNumber(0.1, 'half-even')` is
   * 0.1 (the double is 0.1000000000000000055…); `fromNumber(0.1, 'ceil')` is 0.100000000000000001.
   */
  static fromNumber(x: number, mode: RoundingMode = 'half-even'): Decimal {
    if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
    if (x === 0) return Decimal.ZERO;
    F64[0] = x;
    const bits = U64[0] as bigint;
    const negative = bits >> 63n === 1n;
    const exponentBits = Number((bits >> 52n) & 0x7ffn);
    const fraction = bits & 0xfffffffffffffn;
    // x = ±mantissa × 2^exponent exactly.
    const mantissa = exponentBits === 0 ? fraction : fraction | 0x10000000000000n;
    const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075;
    const signed = negative ? -mantissa : mantissa;
    if (exponent >= 0) return new Decimal((signed * ONE) << BigInt(exponent));
    return new Decimal(divideRounded(signed * ONE, 1n << BigInt(-exponent), mode));
  }

  add(other: Decimal): Decimal {
    return new Decimal(this.units + other.units);
  }

  sub(other: Decimal): Decimal {
    return new Decimal(this.units - other.units);
  }

  mul(other: Decimal, mode: RoundingMode = 'half-even'): Decimal {
    return new Decimal(divideRounded(this.units * other.units, ONE, mode));
  }

  /** this / other rounded to 18 places by `mode`; throws a RangeError when other is zero. */
  div(other: Decimal, mode: RoundingMode = 'half-even'): Decimal {
    if (other.units === 0n) throw new RangeError('division by zero');
    const n = this.units * ONE;
    return new Decimal(
      other.units < 0n ? divideRounded(-n, -other.units, mode) : divideRounded(n, other.units, mode),
    );
  }

  neg(): Decimal {
    return new Decimal(-this.units);
  }

  abs(): Decimal {
    return this.units < 0n ? this.neg() : this;
  }

  /** −1, 0 or 1. */
  sign(): number {
    return this.units < 0n ? -1 : this.units > 0n ? 1 : 0;
  }

  isZero(): boolean {
    return this.units === 0n;
  }

  /** −1, 0 or 1 as this is below, equal to or above other. */
  compare(other: Decimal): number {
    return this.units < other.units ? -1 : this.units > other.units ? 1 : 0;
  }

  max(other: Decimal): Decimal {
    return this.units >= other.units ? this : other;
  }

  min(other: Decimal): Decimal {
    return this.units <= other.units ? this : other;
  }

  /** Rounded to `places` (0–18) decimal places by `mode`. */
  round(places: number, mode: RoundingMode = 'half-even'): Decimal {
    const step = stepFor(places);
    return new Decimal(divideRounded(this.units, step, mode) * step);
  }

  /** Fixed-point text with exactly `places` (0–18) decimals, rounded by `mode`: `'-12.50'`. */
  toFixed(places: number, mode: RoundingMode = 'half-even'): string {
    return formatScaled(divideRounded(this.units, stepFor(places), mode), places);
  }

  /** The shortest exact text: no exponent, no trailing zeros (`'0.3'`, `'-12'`). */
  toString(): string {
    const text = formatScaled(this.units, SCALE);
    return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  }

  /** The nearest float (correctly rounded). */
  toNumber(): number {
    return Number(this.toString());
  }
}

function stepFor(places: number): bigint {
  if (!Number.isSafeInteger(places) || places < 0 || places > SCALE) {
    throw new RangeError(`places must be an integer in [0, ${SCALE}], got ${places}`);
  }
  return pow10(SCALE - places);
}

/** units × 10^−places as fixed-point text with exactly `places` decimals. */
export function formatScaled(units: bigint, places: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, '0');
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return negative ? `-${text}` : text;
}
