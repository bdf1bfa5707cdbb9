/**
 * Black-76: European options on a forward (or future) F. With discount factor D = e^(−rT),
 *
 *   d1 = (ln(F/K) + σ²T/2) / (σ√T),  d2 = d1 − σ√T
 *   call = D·(F·Φ(d1) − K·Φ(d2)),     put = D·(K·Φ(−d2) − F·Φ(−d1))
 *   Δcall = D·Φ(d1),                  Δput = −D·Φ(−d1)
 *
 * Crypto options are priced off the underlying's mark with r = 0 by default (Deribit's convention: the
 * forward already carries the funding). When σ√T is zero (expiry now, or zero volatility) the value is the
 * discounted intrinsic value and the delta a step; a forward of 0 (a −100% scenario) gives call 0, put D·K.
 * The functions take numbers, not objects, so the scenario loop allocates nothing.
 */
import { normalCdf } from '../math/normal.ts';

/** Milliseconds in the year used for time to expiry: ACT/365 (crypto trades every day). */
export const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** Time from `asOf` to `expiry` (both epoch ms) in years, ACT/365; negative once expired. */
export function yearsToExpiry(expiryMs: number, asOfMs: number): number {
  return (expiryMs - asOfMs) / YEAR_MS;
}

/**
 * Black-76 value of one option on one unit of the underlying.
 *
 * @param isCall call (true) or put (false)
 * @param forward F ≥ 0
 * @param strike K > 0
 * @param years T ≥ 0 (negative is treated as 0)
 * @param volatility σ ≥ 0, annualised
 * @param rate r, continuously compounded (default 0)
 * @example
 * black76Price(true, 100, 100, 1, 0.2); // 7.965567455405804
 */
export function black76Price(
  isCall: boolean,
  forward: number,
  strike: number,
  years: number,
  volatility: number,
  rate = 0,
): number {
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const stdDev = volatility * Math.sqrt(t);
  if (!(stdDev > 0) || !(forward > 0)) {
    const intrinsic = isCall ? forward - strike : strike - forward;
    return intrinsic > 0 ? discount * intrinsic : 0;
  }
  const d1 = Math.log(forward / strike) / stdDev + 0.5 * stdDev;
  const d2 = d1 - stdDev;
  return isCall
    ? discount * (forward * normalCdf(d1) - strike * normalCdf(d2))
    : discount * (strike * normalCdf(-d2) - forward * normalCdf(-d1));
}

/**
 * Black-76 delta ∂V/∂F of one option on one unit of the underlying (same arguments as `black76Price`).
 * At σ√T = 0 it is the step D·1{F > K} (call) or −D·1{F < K} (put), ½·D at the money.
 *
 * @example
 * black76Delta(true, 100, 100, 1, 0.2); // 0.539827837277029
 */
export function black76Delta(
  isCall: boolean,
  forward: number,
  strike: number,
  years: number,
  volatility: number,
  rate = 0,
): number {
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const stdDev = volatility * Math.sqrt(t);
  if (!(stdDev > 0) || !(forward > 0)) {
    const step = forward > strike ? 1 : forward < strike ? 0 : 0.5;
    return isCall ? discount * step : -discount * (1 - step);
  }
  const d1 = Math.log(forward / strike) / stdDev + 0.5 * stdDev;
  return isCall ? discount * normalCdf(d1) : -discount * normalCdf(-d1);
}

/**
 * `black76Price` and `black76Delta` of one option at once, to the bit, written to out[0] and out[1]: the two
 * share ln(F/K), σ√T and Φ(±d1), so marking a position costs one logarithm and at most two Φ, not two and
 * three.
 *
 * @example
 * const out = new Float64Array(2);
 * black76PriceAndDelta(true, 100, 100, 1, 0.2, 0, out); // out: [7.965567455405804, 0.539827837277029]
 */
export function black76PriceAndDelta(
  isCall: boolean,
  forward: number,
  strike: number,
  years: number,
  volatility: number,
  rate: number,
  out: Float64Array,
): void {
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const stdDev = volatility * Math.sqrt(t);
  if (!(stdDev > 0) || !(forward > 0)) {
    const intrinsic = isCall ? forward - strike : strike - forward;
    const step = forward > strike ? 1 : forward < strike ? 0 : 0.5;
    out[0] = intrinsic > 0 ? discount * intrinsic : 0;
    out[1] = isCall ? discount * step : -discount * (1 - step);
    return;
  }
  const d1 = Math.log(forward / strike) / stdDev + 0.5 * stdDev;
  const d2 = d1 - stdDev;
  if (isCall) {
    const p1 = normalCdf(d1);
    out[0] = discount * (forward * p1 - strike * normalCdf(d2));
    out[1] = discount * p1;
  } else {
    const p1 = normalCdf(-d1);
    out[0] = discount * (strike * normalCdf(-d2) - forward * p1);
    out[1] = -discount * p1;
  }
}

// Per-call scratch for `black76ScenarioPrices` (grown on demand; valuation is synchronous).
let logMoneyness = new Float64Array(16);
let stdDevs = new Float64Array(4);
/** Φ arguments and values: ±d1 of scenario j at 2j, ±d2 at 2j + 1. */
let probabilities = new Float64Array(64);

/**
 * Black-76 values of one option in every scenario of a grid, written to `out` (one per scenario):
 * scenario j prices at forward `forwards[forwardIndex[j]]` and volatility `volatilities[volatilityIndex[j]]`
 * (indices within those arrays). Each value is exactly `black76Price(isCall, forward, strike, years,
 * volatility, rate)`, to the bit: the kernel only hoists what the scenarios share (√T, σ√T per volatility,
 * ln(F/K) per forward, the discount factor) out of the per-scenario work, which is then the two Φ
 * evaluations. A grid of 9 price levels × 3 volatilities thus takes 9 logarithms and 1 square root instead
 * of 27 of each, and the 54 Φ run in one loop (one call site, which V8 inlines whole). With `deltas`, each
 * scenario's delta (exactly `black76Delta`'s) is written there too, from the same Φ(±d1).
 *
 * @example
 * const out = new Float64Array(2);
 * black76ScenarioPrices(true, 100, 0.5, Float64Array.of(0.6, 0.9), 0,
 *   Float64Array.of(92, 108), Uint8Array.of(0, 1), Uint8Array.of(1, 0), out);
 * out[0] === black76Price(true, 92, 100, 0.5, 0.9); // true
 */
export function black76ScenarioPrices(
  isCall: boolean,
  strike: number,
  years: number,
  volatilities: Float64Array,
  rate: number,
  forwards: Float64Array,
  forwardIndex: Uint8Array,
  volatilityIndex: Uint8Array,
  out: Float64Array,
  deltas?: Float64Array,
): void {
  const n = out.length;
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const root = Math.sqrt(t);
  // A put's Φ(−d) is Φ of side × d, exactly.
  const side = isCall ? 1 : -1;
  if (stdDevs.length < volatilities.length) stdDevs = new Float64Array(volatilities.length);
  if (logMoneyness.length < forwards.length) logMoneyness = new Float64Array(forwards.length);
  if (probabilities.length < 2 * n) probabilities = new Float64Array(2 * n);
  const sd = stdDevs;
  const lm = logMoneyness;
  const phi = probabilities;
  for (let v = 0; v < volatilities.length; v++) sd[v] = (volatilities[v] as number) * root;
  for (let l = 0; l < forwards.length; l++) {
    const forward = forwards[l] as number;
    lm[l] = forward > 0 ? Math.log(forward / strike) : 0;
  }
  for (let j = 0; j < n; j++) {
    const f = forwardIndex[j] as number;
    const stdDev = sd[volatilityIndex[j] as number] as number;
    const d1 = (lm[f] as number) / stdDev + 0.5 * stdDev;
    const d2 = d1 - stdDev;
    phi[2 * j] = side * d1;
    phi[2 * j + 1] = side * d2;
  }
  for (let k = 0; k < 2 * n; k++) phi[k] = normalCdf(phi[k] as number);
  for (let j = 0; j < n; j++) {
    const forward = forwards[forwardIndex[j] as number] as number;
    const stdDev = sd[volatilityIndex[j] as number] as number;
    if (!(stdDev > 0) || !(forward > 0)) {
      // σ√T = 0 or F = 0: the Φ above were of meaningless arguments; the value is intrinsic.
      const intrinsic = isCall ? forward - strike : strike - forward;
      out[j] = intrinsic > 0 ? discount * intrinsic : 0;
      if (deltas) {
        const step = forward > strike ? 1 : forward < strike ? 0 : 0.5;
        deltas[j] = isCall ? discount * step : -discount * (1 - step);
      }
      continue;
    }
    const p1 = phi[2 * j] as number;
    const p2 = phi[2 * j + 1] as number;
    out[j] = isCall ? discount * (forward * p1 - strike * p2) : discount * (strike * p2 - forward * p1);
    // Φ(side·d1) is the delta's Φ: Δcall = D·Φ(d1), Δput = −D·Φ(−d1), exactly `black76Delta`.
    if (deltas) deltas[j] = side * discount * p1;
  }
}
