/**
 * A threshold set's pair correlations as one compact binary body (DynamoDB B), instead of JSON: at 300
 * instruments the 44,850 pairs were about 10 MB of JSON, read whole by every sweep worker. Every ρ stays an
 * exact Float64 (no rounding, so no offset moves); day counts are variable-length integers; the dates, the
 * instruments and the reasons of refused pairs are each written once.
 *
 * Layout (version 1, little-endian), deflated as a whole (`node:zlib`, raw deflate):
 * - `QMTC`, version byte 1;
 * - u32 length, then UTF-8 JSON `{ instruments, dates, pairs?, refused, stressedThin }`: the instruments in
 *   their order of first appearance; every distinct `from`/`to` day; `pairs` only when the list is not the
 *   upper triangle of the instrument matrix row by row (then `[i, j]` per pair); `refused` and
 *   `stressedThin` sparse, `[pair index, reason]`;
 * - u32 pair count; one flag byte per pair (bit 0 lookback, bit 1 stressed, bits 2–3 where `rho` comes
 *   from: none, the lookback's, the stressed one's, or its own);
 * - Float64 columns: lookback ρ, stressed ρ, own ρ (only the pairs that have each);
 * - unsigned LEB128 columns: lookback days, stressed days, then the date indices (lookback from/to, stressed
 *   from/to).
 * Decoding builds each pair with its fields in the order the estimator writes them, so the set read back is
 * the set written (deep-equal, and the same JSON).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { QmtError } from '../../domain/errors.ts';
import type { CorrelationEstimate, PairCorrelation } from '../../domain/threshold/correlation.ts';

/** META's `correlationEncoding` for bodies written by this module. */
export const CORRELATION_MATRIX_ENCODING = 'matrix/1';

const MAGIC = 'QMTC';
const VERSION = 1;
const PAIR_FIELDS = new Set(['a', 'b', 'lookback', 'stressed', 'rho', 'refused', 'stressedThin']);
const ESTIMATE_FIELDS = new Set(['rho', 'days', 'from', 'to']);
/** `rho` absent (bits 2–3 zero) is flag value 0; the others: */
const RHO_LOOKBACK = 1;
const RHO_STRESSED = 2;
const RHO_OWN = 3;

interface TextSection {
  readonly instruments: string[];
  readonly dates: string[];
  readonly pairs?: [number, number][];
  readonly refused: [number, string][];
  readonly stressedThin: [number, string][];
}

/**
 * The correlations as the stored body. `what` names the set in errors (`set <id>, correlations`).
 *
 * @throws QmtError naming the pair and the field when a value cannot be stored exactly (a ρ that is not
 * finite, a day count that is not a whole number ≥ 0, a field this layout does not know).
 * @example
 * const body = encodeCorrelationMatrix(set.correlations, `set ${set.setId}, correlations`);
 */
export function encodeCorrelationMatrix(correlations: readonly PairCorrelation[], what: string): Uint8Array {
  const instrumentIndex = new Map<string, number>();
  const dateIndex = new Map<string, number>();
  const indexOf = (map: Map<string, number>, key: string) => {
    const known = map.get(key);
    if (known !== undefined) return known;
    map.set(key, map.size);
    return map.size - 1;
  };
  const positions: [number, number][] = [];
  const text: TextSection = { instruments: [], dates: [], refused: [], stressedThin: [] };
  const flags = new Uint8Array(correlations.length);
  const lookbacks: CorrelationEstimate[] = [];
  const stresseds: CorrelationEstimate[] = [];
  const ownRhos: number[] = [];

  correlations.forEach((pair, k) => {
    const name = `${String(pair.a)}/${String(pair.b)}`;
    checkPair(pair, name, what);
    positions.push([indexOf(instrumentIndex, pair.a), indexOf(instrumentIndex, pair.b)]);
    let flag = 0;
    if (pair.lookback !== undefined) {
      flag |= 1;
      lookbacks.push(pair.lookback);
    }
    if (pair.stressed !== undefined) {
      flag |= 2;
      stresseds.push(pair.stressed);
    }
    if (pair.rho !== undefined) {
      // Usually the lower of the two estimates: stored once, as a reference to it (Object.is keeps -0 apart).
      const source = Object.is(pair.rho, pair.lookback?.rho)
        ? RHO_LOOKBACK
        : Object.is(pair.rho, pair.stressed?.rho)
          ? RHO_STRESSED
          : RHO_OWN;
      if (source === RHO_OWN) ownRhos.push(pair.rho);
      flag |= source << 2;
    }
    if (pair.refused !== undefined) text.refused.push([k, pair.refused]);
    if (pair.stressedThin !== undefined) text.stressedThin.push([k, pair.stressedThin]);
    flags[k] = flag;
  });

  const instruments = [...instrumentIndex.keys()];
  const section: TextSection = {
    ...text,
    instruments,
    dates: [],
    ...(isUpperTriangle(positions, instruments.length) ? {} : { pairs: positions }),
  };
  const varints: number[] = [];
  for (const e of lookbacks) varints.push(e.days);
  for (const e of stresseds) varints.push(e.days);
  for (const e of [...lookbacks, ...stresseds]) {
    varints.push(indexOf(dateIndex, e.from), indexOf(dateIndex, e.to));
  }
  section.dates.push(...dateIndex.keys());

  const textBytes = new TextEncoder().encode(JSON.stringify(section));
  const floats = [...lookbacks.map((e) => e.rho), ...stresseds.map((e) => e.rho), ...ownRhos];
  const varintBytes = encodeVarints(varints);
  const body = new Uint8Array(
    MAGIC.length + 1 + 4 + textBytes.length + 4 + flags.length + floats.length * 8 + varintBytes.length,
  );
  const view = new DataView(body.buffer);
  let at = 0;
  for (const ch of MAGIC) body[at++] = ch.charCodeAt(0);
  body[at++] = VERSION;
  view.setUint32(at, textBytes.length, true);
  at += 4;
  body.set(textBytes, at);
  at += textBytes.length;
  view.setUint32(at, correlations.length, true);
  at += 4;
  body.set(flags, at);
  at += flags.length;
  for (const value of floats) {
    view.setFloat64(at, value, true);
    at += 8;
  }
  body.set(varintBytes, at);
  return deflateRawSync(body);
}

/**
 * The correlations a stored body holds, exactly as they were encoded.
 *
 * @throws QmtError naming `what` when the body is not one this version wrote or is cut short.
 */
export function decodeCorrelationMatrix(stored: Uint8Array, what: string): PairCorrelation[] {
  const bad = (reason: string) =>
    new QmtError(`${what}: the stored correlation matrix cannot be read (${reason})`);
  let body: Uint8Array;
  try {
    body = inflateRawSync(stored);
  } catch (error) {
    throw new QmtError(`${what}: the stored correlation matrix cannot be read (not deflated data)`, {
      cause: error,
    });
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  const need = (bytes: number) => {
    if (at + bytes > body.length) throw bad(`cut short at byte ${at}`);
  };
  need(MAGIC.length + 1);
  const magic = String.fromCharCode(...body.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw bad('no QMTC header');
  at = MAGIC.length;
  const version = body[at++];
  if (version !== VERSION) throw bad(`version ${version}, this reader knows ${VERSION}`);
  need(4);
  const textLength = view.getUint32(at, true);
  at += 4;
  need(textLength);
  const section = JSON.parse(new TextDecoder().decode(body.subarray(at, at + textLength))) as TextSection;
  at += textLength;
  need(4);
  const count = view.getUint32(at, true);
  at += 4;
  need(count);
  const flags = body.subarray(at, at + count);
  at += count;
  let lookbackCount = 0;
  let stressedCount = 0;
  let ownCount = 0;
  for (const flag of flags) {
    if (flag & 1) lookbackCount++;
    if (flag & 2) stressedCount++;
    if (flag >> 2 === RHO_OWN) ownCount++;
  }
  const floatCount = lookbackCount + stressedCount + ownCount;
  need(floatCount * 8);
  const floats = Array.from({ length: floatCount }, (_, i) => view.getFloat64(at + i * 8, true));
  at += floatCount * 8;
  const varints = decodeVarints(body.subarray(at), 3 * (lookbackCount + stressedCount), bad);

  const estimate = (rho: number, days: number, dateAt: number): CorrelationEstimate => ({
    rho,
    days,
    from: section.dates[varints[dateAt] as number] as string,
    to: section.dates[varints[dateAt + 1] as number] as string,
  });
  const lookbacks = Array.from({ length: lookbackCount }, (_, i) =>
    estimate(floats[i] as number, varints[i] as number, lookbackCount + stressedCount + 2 * i),
  );
  const stresseds = Array.from({ length: stressedCount }, (_, i) =>
    estimate(
      floats[lookbackCount + i] as number,
      varints[lookbackCount + i] as number,
      3 * lookbackCount + stressedCount + 2 * i,
    ),
  );
  const refused = new Map(section.refused);
  const stressedThin = new Map(section.stressedThin);
  const positions = section.pairs ?? upperTriangle(section.instruments.length);
  if (positions.length !== count) throw bad(`${positions.length} pair positions for ${count} pairs`);
  let nextLookback = 0;
  let nextStressed = 0;
  let nextOwn = lookbackCount + stressedCount;
  return positions.map(([i, j], k) => {
    const flag = flags[k] as number;
    const lookback = flag & 1 ? lookbacks[nextLookback++] : undefined;
    const stressed = flag & 2 ? stresseds[nextStressed++] : undefined;
    const source = flag >> 2;
    const rho =
      source === RHO_LOOKBACK
        ? lookback?.rho
        : source === RHO_STRESSED
          ? stressed?.rho
          : source === RHO_OWN
            ? floats[nextOwn++]
            : undefined;
    const reason = refused.get(k);
    const thin = stressedThin.get(k);
    return {
      a: section.instruments[i] as string,
      b: section.instruments[j] as string,
      ...(lookback !== undefined && { lookback }),
      ...(stressed !== undefined && { stressed }),
      ...(rho !== undefined && { rho }),
      ...(reason !== undefined && { refused: reason }),
      ...(thin !== undefined && { stressedThin: thin }),
    };
  });
}

function checkPair(pair: PairCorrelation, name: string, what: string): void {
  const refuse = (field: string, reason: string) => {
    throw new QmtError(`${what}: ${field} ${reason}, which cannot be stored (pair ${name})`);
  };
  if (typeof pair.a !== 'string' || typeof pair.b !== 'string') refuse('a/b', 'is not a pair of symbols');
  for (const [field, value] of Object.entries(pair)) {
    if (value !== undefined && !PAIR_FIELDS.has(field)) refuse(field, 'is not a correlation field');
  }
  if (pair.rho !== undefined) checkRho(pair.rho, 'rho', refuse);
  for (const text of ['refused', 'stressedThin'] as const) {
    if (pair[text] !== undefined && typeof pair[text] !== 'string') refuse(text, 'is not text');
  }
  for (const side of ['lookback', 'stressed'] as const) {
    const estimate = pair[side];
    if (estimate === undefined) continue;
    for (const [field, value] of Object.entries(estimate)) {
      if (value !== undefined && !ESTIMATE_FIELDS.has(field))
        refuse(`${side}.${field}`, 'is not an estimate field');
    }
    checkRho(estimate.rho, 'rho', refuse);
    if (!Number.isSafeInteger(estimate.days) || estimate.days < 0) {
      refuse(`${side}.days`, `is ${estimate.days}, not a whole number of days`);
    }
    if (typeof estimate.from !== 'string' || typeof estimate.to !== 'string') {
      refuse(`${side}.from/to`, 'are not days');
    }
  }
}

function checkRho(value: unknown, field: string, refuse: (field: string, reason: string) => never): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse(field, `is ${String(value)}`);
}

/** Whether the pairs are (0,1), (0,2) … (0,n-1), (1,2) … : the upper triangle, row by row. */
function isUpperTriangle(positions: readonly (readonly [number, number])[], n: number): boolean {
  if (positions.length !== (n * (n - 1)) / 2) return false;
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const [pi, pj] = positions[k++] as readonly [number, number];
      if (pi !== i || pj !== j) return false;
    }
  }
  return true;
}

function upperTriangle(n: number): [number, number][] {
  const positions: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) positions.push([i, j]);
  return positions;
}

function encodeVarints(values: readonly number[]): Uint8Array {
  const bytes: number[] = [];
  for (let value of values) {
    while (value >= 0x80) {
      bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    bytes.push(value);
  }
  return Uint8Array.from(bytes);
}

function decodeVarints(bytes: Uint8Array, count: number, bad: (reason: string) => QmtError): number[] {
  const values: number[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[at++];
      if (byte === undefined) throw bad(`cut short in its integers (${n} of ${count})`);
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
    }
    values.push(value);
  }
  if (at !== bytes.length) throw bad(`${bytes.length - at} bytes after its last integer`);
  return values;
}
